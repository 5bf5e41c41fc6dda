"""From detections to the classifier's face crops: aligned on landmarks, or square boxes.

:func:`face_crops` is the one place where a detected face becomes the crop the classifier sees,
for ``analyze``, the live demo and the benchmarks alike. With landmarks and a template it warps
each face onto the template (:mod:`edgeemo.align`); otherwise it cuts a square around the box
(:class:`CropGeometry`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .align import FaceTemplate, crop_quads, landmark_transforms, warp_crops
from .detectors.base import Detections
from .preprocess import interpolation_flag


@dataclass(frozen=True)
class CropGeometry:
    """How a detector's box becomes a FER2013-like square crop.

    The crop is a square of side ``scale`` × the box's larger side, centred on the box centre
    moved down by ``shift`` × that side.
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


# Measured on 400 FER2013 PublicTest faces pasted at 90-140 px: the Haar box is ~6% larger than the
# FER crop and centred on it (IoU 0.82 as is); label agreement was flat for scales 0.85-1.05 and fell
# for larger crops (1.2: -5 points, 1.3: -10), so the box is used as it is.
HAAR_GEOMETRY = CropGeometry(1.0, 0.0)
# YuNet's box is narrower than a FER2013 crop (0.81 of its width) and about as tall; a square of its
# larger side, 0.993× and moved up by 1.8% of it, frames FER's crop (median over 1,909 Training faces,
# benchmarks/align_template.py). Used when faces are not aligned (--no-align).
YUNET_GEOMETRY = CropGeometry(0.993, -0.018)


def box_geometry(detector: str) -> CropGeometry:
    """The measured box-to-crop framing of a detector by name (the identity for unknown ones)."""
    return {"haar": HAAR_GEOMETRY, "yunet": YUNET_GEOMETRY}.get(detector, CropGeometry())


def crop_faces(gray: np.ndarray, crops: np.ndarray, size: tuple[int, int], interpolation: str = "area") -> np.ndarray:
    """Cut square crops (which may leave the frame: edges are replicated) and resize them to ``size``
    (h, w) with the model's ``interpolation`` (:class:`~edgeemo.preprocess.Preprocess`), as the faces it
    was trained on were resized. ``area`` is a shrinking method: a crop smaller than ``size`` is
    enlarged bilinearly."""
    flag = interpolation_flag(interpolation)
    h, w = gray.shape[:2]
    out = np.empty((len(crops), size[0], size[1]), np.uint8)
    for i, (x, y, s, _) in enumerate(crops):
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + s, w), min(y + s, h)
        if x1 <= x0 or y1 <= y0:
            out[i] = 0
            continue
        roi = gray[y0:y1, x0:x1]
        if (x0, y0, x1, y1) != (x, y, x + s, y + s):
            roi = cv2.copyMakeBorder(roi, y0 - y, y + s - y1, x0 - x, x + s - x1, cv2.BORDER_REPLICATE)
        enlarge = s < size[1] and flag == cv2.INTER_AREA
        out[i] = cv2.resize(roi, (size[1], size[0]), interpolation=cv2.INTER_LINEAR if enlarge else flag)
    return out


def box_quads(crops: np.ndarray) -> np.ndarray:
    """N×4×2 corners of square crop boxes, in the order :func:`edgeemo.align.crop_quads` uses."""
    c = np.asarray(crops, np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = c[:, 0], c[:, 1], c[:, 0] + c[:, 2], c[:, 1] + c[:, 3]
    return np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)


def face_crops(gray: np.ndarray, dets: Detections, size: tuple[int, int], template: FaceTemplate | None = None,
               geometry: CropGeometry = HAAR_GEOMETRY, interpolation: str = "area") -> tuple[np.ndarray, np.ndarray]:
    """The classifier's crops (N×h×w uint8) for ``dets`` in a gray image, and where each crop lies in
    the image (N×4×2 corners). Aligned on the landmarks when there are landmarks and a ``template``
    (an exact area average); else square boxes resized with the model's ``interpolation``."""
    if len(dets) == 0:
        return np.zeros((0, *size), np.uint8), np.zeros((0, 4, 2))
    if template is not None and dets.landmarks is not None:
        transforms = landmark_transforms(dets.landmarks, template, size)
        return warp_crops(gray, transforms, size), crop_quads(transforms, size)
    boxes = geometry.apply(dets.boxes)
    return crop_faces(gray, boxes, size, interpolation), box_quads(boxes)
