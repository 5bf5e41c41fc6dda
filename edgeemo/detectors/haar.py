"""OpenCV's frontal-face Haar cascade, which ships inside every opencv-python wheel."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeemoError
from .base import Detections, FaceDetector

HAAR_FILE = "haarcascade_frontalface_default.xml"


class HaarDetector(FaceDetector):
    """The Haar cascade, run on the image downscaled to ``detect_width`` pixels; no landmarks.

    Scores are the number of merged neighbour windows (higher = surer).
    """

    name = "haar"

    def __init__(self, detect_width: int = 320, min_face: int = 48, scale_factor: float = 1.1,
                 min_neighbors: int = 5, cascade: str | Path | None = None) -> None:
        self._set_sizes(detect_width, min_face)
        path = Path(cascade) if cascade else Path(cv2.data.haarcascades) / HAAR_FILE
        if not path.exists():
            raise EdgeemoError(f"the Haar cascade {path} is missing; reinstall opencv-python-headless (<5)")
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise EdgeemoError(f"{path}: OpenCV could not load this Haar cascade file")
        self.path = path
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors

    def detect(self, bgr: np.ndarray, gray: np.ndarray | None = None) -> Detections:
        gray = self._gray(bgr, gray)
        s = self._scale_for(gray.shape, self.detect_width)
        small = gray if s == 1.0 else cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        small = cv2.equalizeHist(small)
        min_side = max(24, int(round(self.min_face * s)))
        boxes, neighbours = self.cascade.detectMultiScale2(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side))
        if len(boxes) == 0:
            return Detections.empty()
        boxes = np.round(np.asarray(boxes, np.float64) / s).astype(np.int64)
        return Detections(boxes, np.asarray(neighbours, np.float32).reshape(-1))

    def describe(self) -> dict:
        return {"name": self.name, "file": self.path.name, "detect_width": self.detect_width,
                "min_face": self.min_face, "scale_factor": self.scale_factor, "min_neighbors": self.min_neighbors}
