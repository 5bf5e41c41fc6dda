"""Face detectors that need no download, and the crop geometry that matches FER2013's framing.

``haar`` (the default) is OpenCV's frontal-face Haar cascade, which ships inside every
opencv-python wheel (``cv2.data.haarcascades``). ``yunet`` is OpenCV's CNN detector
(``cv2.FaceDetectorYN``): more accurate, also on turned and small faces, but it needs its
ONNX model file, which the user supplies with ``--detector-model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeemoError

DETECTORS = ("haar", "yunet")
HAAR_FILE = "haarcascade_frontalface_default.xml"
YUNET_HINT = (
    "get face_detection_yunet_2023mar.onnx from the OpenCV model zoo (opencv_zoo, models/face_detection_yunet) "
    "and pass it with --detector-model PATH, or use --detector haar"
)


@dataclass(frozen=True)
class CropGeometry:
    """How a detector's box becomes a FER2013-like crop.

    FER2013 faces are tight, roughly square crops from the eyebrows' top to the chin. The crop
    is a square of side ``scale`` × the box's larger side, centred on the box centre moved down
    by ``shift`` × the box side.
    """

    scale: float = 1.0
    shift: float = 0.0

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        """N×4 ``(x, y, w, h)`` detector boxes to N×4 integer square crop boxes (may leave the frame)."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        side = np.maximum(b[:, 2], b[:, 3])
        cx = b[:, 0] + b[:, 2] / 2
        cy = b[:, 1] + b[:, 3] / 2 + self.shift * side
        s = np.maximum(np.round(side * self.scale), 2)
        out = np.stack([np.round(cx - s / 2), np.round(cy - s / 2), s, s], axis=1)
        return out.astype(np.int64)


class FaceDetector:
    """Find faces: ``detect(bgr, gray)`` returns N×4 int ``(x, y, w, h)`` boxes and N scores."""

    name = "detector"
    geometry = CropGeometry()

    def detect(self, bgr: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @staticmethod
    def _scale_for(shape: tuple[int, ...], detect_width: int) -> float:
        w = shape[1]
        return detect_width / w if detect_width and w > detect_width else 1.0


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade, run on a frame downscaled to ``detect_width`` pixels.

    Scores are the number of merged neighbour windows (higher = surer).
    """

    name = "haar"
    # Measured on 400 FER2013 PublicTest faces pasted at 90-140 px: the cascade's box is ~6% larger
    # than the FER crop and centred on it (IoU 0.82 as is). Label agreement was flat for crop scales
    # 0.85-1.05 and fell for larger crops (1.2: -5 points, 1.3: -10), so the box is used as it is.
    geometry = CropGeometry(scale=1.0, shift=0.0)

    def __init__(self, detect_width: int = 320, min_face: int = 48, scale_factor: float = 1.1,
                 min_neighbors: int = 5, cascade: str | Path | None = None) -> None:
        path = Path(cascade) if cascade else Path(cv2.data.haarcascades) / HAAR_FILE
        if not path.exists():
            raise EdgeemoError(f"the Haar cascade {path} is missing; reinstall opencv-python-headless (<5)")
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise EdgeemoError(f"{path}: OpenCV could not load this Haar cascade file")
        self.detect_width, self.min_face = detect_width, min_face
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors

    def detect(self, bgr: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self._scale_for(gray.shape, self.detect_width)
        small = gray if s == 1.0 else cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        small = cv2.equalizeHist(small)
        min_side = max(24, int(round(self.min_face * s)))
        boxes, neighbours = self.cascade.detectMultiScale2(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side))
        if len(boxes) == 0:
            return np.zeros((0, 4), np.int64), np.zeros(0, np.float32)
        boxes = np.round(np.asarray(boxes, np.float64) / s).astype(np.int64)
        return boxes, np.asarray(neighbours, np.float32).reshape(-1)


class YuNetDetector(FaceDetector):
    """OpenCV's YuNet CNN face detector (``cv2.FaceDetectorYN``); scores are confidences in 0..1."""

    name = "yunet"
    # YuNet boxes span forehead to chin, close to FER2013's framing (not measured here: tune with
    # --crop-scale/--crop-shift).
    geometry = CropGeometry(scale=1.0, shift=0.0)

    def __init__(self, model: str | Path | None, detect_width: int = 320, min_face: int = 24,
                 score_threshold: float = 0.7, nms_threshold: float = 0.3) -> None:
        if not hasattr(cv2, "FaceDetectorYN"):
            raise EdgeemoError(f"OpenCV {cv2.__version__} has no FaceDetectorYN (YuNet needs OpenCV >= 4.5.4); "
                               "upgrade opencv-python-headless or use --detector haar")
        if model is None:
            raise EdgeemoError(f"--detector yunet needs its ONNX model file: {YUNET_HINT}")
        path = Path(model).expanduser()
        if not path.is_file():
            raise EdgeemoError(f"{path}: no such YuNet model file; {YUNET_HINT}")
        try:
            self.net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, nms_threshold, 5000)
        except cv2.error as exc:
            raise EdgeemoError(f"{path}: OpenCV cannot load it as a YuNet model ({str(exc).strip()[-200:]}); "
                               f"{YUNET_HINT}") from exc
        self.detect_width, self.min_face = detect_width, min_face
        self._size: tuple[int, int] | None = None

    def detect(self, bgr: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self._scale_for(bgr.shape, self.detect_width)
        small = bgr if s == 1.0 else cv2.resize(bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        size = (small.shape[1], small.shape[0])
        if size != self._size:
            self.net.setInputSize(size)
            self._size = size
        _, faces = self.net.detect(small)
        if faces is None or len(faces) == 0:
            return np.zeros((0, 4), np.int64), np.zeros(0, np.float32)
        boxes = np.round(faces[:, :4].astype(np.float64) / s).astype(np.int64)
        keep = np.minimum(boxes[:, 2], boxes[:, 3]) >= self.min_face
        return boxes[keep], faces[keep, -1].astype(np.float32)


def make_detector(name: str = "haar", model: str | Path | None = None, detect_width: int = 320,
                  min_face: int = 48) -> FaceDetector:
    """A detector by name: ``haar`` (built in) or ``yunet`` (needs ``model``)."""
    if name == "haar":
        if model is not None:
            return HaarDetector(detect_width, min_face, cascade=model)
        return HaarDetector(detect_width, min_face)
    if name == "yunet":
        return YuNetDetector(model, detect_width, min_face)
    raise EdgeemoError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
