"""YuNet, a small CNN face detector with five landmarks, shipped with edgeemo and run by OpenCV.

The model file (``assets/yunet/yunet_s_640_640.onnx``, Apache-2.0, see the NOTICE beside it) is
checked against its SHA-256 every time it is loaded, so a damaged or swapped file is an error
rather than silently worse detections. It runs through ``cv2.FaceDetectorYN`` (OpenCV >= 4.8).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeemoError, ModelFileError
from ..filehash import file_sha256
from ..model_files import ASSETS
from .base import Detections, FaceDetector

YUNET_FILE = ASSETS / "yunet" / "yunet_s_640_640.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
MIN_INPUT = 64  # pixels on each side; below it OpenCV's YuNet returns spurious boxes (measured on blank images)


def shipped_yunet() -> Path:
    """The shipped YuNet file, after checking that its bytes are the published ones."""
    if not YUNET_FILE.is_file():
        raise ModelFileError(f"the shipped face detector {YUNET_FILE} is missing; reinstall edgeemo "
                             "(or use --detector haar)")
    digest = file_sha256(YUNET_FILE)
    if digest != YUNET_SHA256:
        raise ModelFileError(f"{YUNET_FILE}: its SHA-256 is {digest}, not the published {YUNET_SHA256}: the file is "
                             "damaged or was replaced; reinstall edgeemo (or use --detector haar)")
    return YUNET_FILE


class YuNetDetector(FaceDetector):
    """YuNet through ``cv2.FaceDetectorYN``: boxes, confidences in 0..1 and five landmarks per face.

    The image is downscaled to at most ``detect_width`` pixels wide (0: full size) before
    detection, and an image whose shorter side is under ``min_side`` pixels is enlarged towards it
    (a small crop that the face fills is found far more often), but never past ``max_enlarged``
    pixels on its longer side (a thin strip would otherwise become a huge image); faces smaller
    than ``min_face`` pixels (in the image as given) are dropped. ``model`` replaces the shipped
    file (it is not hash-checked: the caller chose it).
    """

    max_enlarged = 640

    name = "yunet"
    has_landmarks = True

    def __init__(self, model: str | Path | None = None, detect_width: int = 320, min_face: int = 16,
                 score_threshold: float = 0.6, nms_threshold: float = 0.3, min_side: int = 160) -> None:
        self._set_sizes(detect_width, min_face)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise EdgeemoError(f"OpenCV {cv2.__version__} has no FaceDetectorYN (YuNet needs OpenCV >= 4.8); "
                               "pip install -U 'opencv-python-headless<5', or use --detector haar")
        path = shipped_yunet() if model is None else Path(model).expanduser()
        if not path.is_file():
            raise EdgeemoError(f"{path}: no such YuNet model file; leave --detector-model out to use the shipped one")
        try:
            self.net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, nms_threshold, 5000)
        except cv2.error as exc:
            raise EdgeemoError(f"{path}: OpenCV cannot load it as a YuNet model ({str(exc).strip()[-200:]}); "
                               "leave --detector-model out to use the shipped one") from exc
        self.path, self.shipped = path, model is None
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold
        self.min_side = min_side
        self._size: tuple[int, int] | None = None

    def detect(self, bgr: np.ndarray, gray: np.ndarray | None = None) -> Detections:
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        s = self.detection_scale(bgr.shape)
        if min(bgr.shape[:2]) < self.min_face or min(bgr.shape[:2]) * s < 1:  # no face of min_face pixels fits
            return Detections.empty(with_landmarks=True)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        small = bgr if s == 1.0 else cv2.resize(bgr, None, fx=s, fy=s, interpolation=interp)
        pad_h, pad_w = max(0, MIN_INPUT - small.shape[0]), max(0, MIN_INPUT - small.shape[1])
        if pad_h or pad_w:  # pad below and right: boxes keep their coordinates
            small = cv2.copyMakeBorder(small, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=0)
        size = (small.shape[1], small.shape[0])
        if size != self._size:
            self.net.setInputSize(size)
            self._size = size
        _, faces = self.net.detect(small)
        if faces is None or len(faces) == 0:
            return Detections.empty(with_landmarks=True)
        faces = faces.astype(np.float64) / np.r_[np.full(14, s), 1.0]
        with np.errstate(invalid="ignore"):  # a non-finite row is dropped, never cast
            side = np.round(np.minimum(faces[:, 2], faces[:, 3]))
            faces = faces[np.isfinite(faces).all(axis=1) & (side >= self.min_face)]
        boxes = np.round(faces[:, :4]).astype(np.int64)
        landmarks = faces[:, 4:14].reshape(-1, 5, 2).astype(np.float32)
        return Detections(boxes, faces[:, 14].astype(np.float32), landmarks)

    def detection_scale(self, shape: tuple[int, ...]) -> float:
        """The factor an image of ``shape`` is resized by for detection."""
        s = self._scale_for(shape, self.detect_width)
        short, long = min(shape[:2]), max(shape[:2])
        if short * s < self.min_side:
            s = max(s, min(self.min_side / short, max(self.max_enlarged, self.detect_width) / long))
        return s

    def describe(self) -> dict:
        return {"name": self.name, "file": self.path.name, "shipped": self.shipped,
                "sha256": YUNET_SHA256 if self.shipped else file_sha256(self.path),
                "detect_width": self.detect_width, "min_side": self.min_side, "min_face": self.min_face,
                "score_threshold": self.score_threshold, "nms_threshold": self.nms_threshold}
