"""The face-detector interface and what every detector returns."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import EdgeemoError

# The five landmarks, in YuNet's order. "Right" and "left" are the person's own: the right eye
# appears on the image's left in a frontal face.
LANDMARKS = ("right_eye", "left_eye", "nose_tip", "right_mouth", "left_mouth")


@dataclass
class Detections:
    """Faces found in one image, in the image's pixel coordinates.

    ``boxes`` N×4 int64 ``(x, y, w, h)`` (a box may reach past the image's edge), ``scores`` N
    float32 (the detector's own scale), ``landmarks`` N×5×2 float32 in :data:`LANDMARKS` order,
    or ``None`` for a detector without landmarks (Haar).
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None

    @classmethod
    def empty(cls, with_landmarks: bool = False) -> Detections:
        return cls(np.zeros((0, 4), np.int64), np.zeros(0, np.float32),
                   np.zeros((0, 5, 2), np.float32) if with_landmarks else None)

    def __len__(self) -> int:
        return len(self.boxes)

    def take(self, idx: np.ndarray | list[int]) -> Detections:
        idx = np.asarray(idx, dtype=np.int64)
        lm = None if self.landmarks is None else self.landmarks[idx]
        return Detections(self.boxes[idx], self.scores[idx], lm)

    def by_size(self) -> Detections:
        """Largest face first (by box area); ties keep the detector's order."""
        return self.take(np.argsort(-(self.boxes[:, 2] * self.boxes[:, 3]), kind="stable"))


class FaceDetector:
    """Find faces: ``detect(bgr, gray)`` returns :class:`Detections`.

    ``gray`` may be passed when the caller already has it (saves a conversion), else ``None``.
    ``describe()`` says which detector and settings ran, for results files.
    """

    name = "detector"
    has_landmarks = False

    def detect(self, bgr: np.ndarray, gray: np.ndarray | None = None) -> Detections:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name}

    def _set_sizes(self, detect_width: int, min_face: int) -> None:
        if detect_width < 0 or min_face < 1:
            raise EdgeemoError(f"detect_width must be 0 (full size) or a width in pixels, and min_face at least 1; "
                               f"got {detect_width} and {min_face}")
        self.detect_width, self.min_face = detect_width, min_face

    @staticmethod
    def _scale_for(shape: tuple[int, ...], detect_width: int) -> float:
        """Downscale factor that brings the image to at most ``detect_width`` pixels wide (0: none)."""
        w = shape[1]
        return detect_width / w if detect_width and w > detect_width else 1.0

    @staticmethod
    def _gray(bgr: np.ndarray, gray: np.ndarray | None) -> np.ndarray:
        if gray is not None:
            return gray
        return bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
