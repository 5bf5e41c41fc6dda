"""Photos and frames in, faces and emotions out: detect → align → classify (batched across images).

>>> from edgeemo import Analyzer
>>> result = Analyzer().analyze("group.jpg")
>>> [(f.box, f.label, round(f.confidence, 2)) for f in result.faces]
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..align import DEFAULT_TEMPLATE, FaceTemplate
from ..classifier import EmotionClassifier
from ..crops import CropGeometry, box_geometry, face_crops
from ..detectors import DEFAULT_DETECTOR, FaceDetector, make_detector
from ..errors import EdgeemoError
from ..faces import FaceInputError, check_batch_size, to_bgr
from .inputs import InputError, Item
from .results import Face, ImageResult

STAGES = ("read", "detect", "crop", "infer")


class Analyzer:
    """Finds every face in images and classifies its emotion.

    ``detector`` is ``yunet`` (shipped; five landmarks), ``haar`` or a :class:`FaceDetector`;
    ``align`` warps each face onto ``template`` from its landmarks (a detector without landmarks
    gets square crops around its boxes, framed by ``geometry``). ``precision`` chooses between the
    shipped model's FP32 and INT8 files (``auto``: INT8 where measured faster). Faces of many
    images are classified together, ``batch_size`` at a time; at most ``max_faces`` (the largest)
    are kept per image, largest first.
    """

    def __init__(self, model: str | Path = "default", *, detector: str | FaceDetector = DEFAULT_DETECTOR,
                 detector_model: str | Path | None = None, align: bool = True,
                 template: FaceTemplate = DEFAULT_TEMPLATE, geometry: CropGeometry | None = None,
                 precision: str = "auto", backend: str = "auto", threads: int | None = None,
                 detect_width: int = 640, min_face: int | None = None, score_threshold: float | None = None,
                 max_faces: int = 64, batch_size: int = 64, classifier: EmotionClassifier | None = None) -> None:
        if max_faces < 1:
            raise EdgeemoError(f"max_faces must be at least 1, got {max_faces}")
        check_batch_size(batch_size)
        self.detector = detector if isinstance(detector, FaceDetector) else make_detector(
            detector, detector_model, detect_width, min_face, score_threshold)
        self.classifier = classifier or EmotionClassifier(model, backend=backend, threads=threads, precision=precision)
        self.template = template if align else None
        self.geometry = geometry or box_geometry(self.detector.name)
        self.size = tuple(self.classifier.meta.preprocess.size)
        self.classes = tuple(self.classifier.classes)
        self.max_faces, self.batch_size = max_faces, batch_size
        self.keep_images = False  # set to keep each result's pixels (for annotated copies)

    def describe(self) -> dict:
        """Which model, precision, detector and crops ran: for the metadata of a results file."""
        clf = self.classifier
        aligned = self.template is not None and self.detector.has_landmarks
        return {"model": clf.meta.model, "model_file": str(clf.path), "backend": clf.backend.name,
                "precision": clf.precision_choice.precision, "precision_choice": clf.precision_choice.to_dict(),
                "detector": self.detector.describe(),
                "crops": {"aligned": aligned, "template": self.template.to_dict() if aligned else None,
                          "geometry": None if aligned else vars(self.geometry), "size": list(self.size)}}

    def analyze(self, image: str | Path | np.ndarray) -> ImageResult:
        """One image (a file path, or a gray/BGR/BGRA array); an image that cannot be read raises."""
        result = next(self.analyze_many([image]))
        if result.error:
            raise InputError(result.error)
        return result

    def analyze_many(self, images: Iterable[str | Path | np.ndarray | Item]) -> Iterator[ImageResult]:
        """Results in input order; an image that cannot be read gives a result with ``error`` set."""
        pending: list[tuple[ImageResult, np.ndarray]] = []
        for k, image in enumerate(images):
            pending.append(self._detect(_as_item(image, k)))
            if sum(len(c) for _, c in pending) >= self.batch_size or len(pending) >= self.batch_size:
                yield from self._classify(pending)
                pending = []
        yield from self._classify(pending)

    def _detect(self, item: Item) -> tuple[ImageResult, np.ndarray]:
        res = ImageResult(item.source, item.frame, truth=item.truth)
        try:
            bgr = item.load()
        except InputError as exc:
            res.error = str(exc)
            return res, np.zeros((0, *self.size), np.uint8)
        t0 = time.perf_counter()
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        dets = self.detector.detect(bgr, gray).by_size()
        dets = dets.take(np.arange(min(len(dets), self.max_faces)))
        t1 = time.perf_counter()
        crops, quads = face_crops(gray, dets, self.size, self.template, self.geometry,
                                  self.classifier.meta.preprocess.interpolation)
        t2 = time.perf_counter()
        res.height, res.width = bgr.shape[:2]
        res.faces = [Face(tuple(int(v) for v in dets.boxes[i]), float(dets.scores[i]),
                          None if dets.landmarks is None else dets.landmarks[i], quads[i]) for i in range(len(dets))]
        res.stages_ms = {"read": item.read_ms, "detect": 1000 * (t1 - t0), "crop": 1000 * (t2 - t1), "infer": 0.0}
        res.image = bgr if self.keep_images else None
        item.image = None
        return res, crops

    def _classify(self, pending: list[tuple[ImageResult, np.ndarray]]) -> Iterator[ImageResult]:
        crops = [c for _, c in pending if len(c)]
        if crops:
            batch = np.concatenate(crops)
            t0 = time.perf_counter()
            probs = self.classifier.predict_proba(batch, batch_size=len(batch))  # one batch, through scoring
            per_face = 1000 * (time.perf_counter() - t0) / len(batch)
            i = 0
            for res, c in pending:
                for face, p in zip(res.faces, probs[i:i + len(c)]):
                    k = int(p.argmax())
                    face.label, face.confidence = self.classes[k], float(p[k])
                    face.probs = dict(zip(self.classes, map(float, p)))
                res.stages_ms["infer"] = per_face * len(c)
                i += len(c)
        for res, _ in pending:
            res.ms = sum(res.stages_ms.values())
            yield res

    def close(self) -> None:
        self.classifier.close()


def _as_item(image: str | Path | np.ndarray | Item, k: int) -> Item:
    if isinstance(image, Item):
        return image
    if isinstance(image, (str, Path)):
        return Item(str(image))
    try:
        return Item(f"<array {k}>", image=to_bgr(image, f"image {k}"))
    except FaceInputError as exc:
        return Item(f"<array {k}>", error=str(exc))


def analyze(images, model: str | Path = "default", **kwargs) -> ImageResult | list[ImageResult]:
    """Analyze one image (path or array: returns its :class:`ImageResult`, raising if it cannot be
    read) or a list of them (returns a list; unreadable ones carry ``error``). Keyword arguments
    are :class:`Analyzer`'s."""
    analyzer = Analyzer(model, **kwargs)
    try:
        if isinstance(images, (str, Path, np.ndarray)):
            return analyzer.analyze(images)
        return list(analyzer.analyze_many(images))
    finally:
        analyzer.close()
