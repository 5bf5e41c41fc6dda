"""Face alignment: a similarity transform from five detected landmarks to a canonical face.

The classifier was trained on FER2013's crops, which are framed from the brow to the chin with
the eyes near level. Aligning a detected face the same way (rotation, scale and position from
its landmarks, no shearing) gives the classifier the framing it knows, whatever the head's
roll and the detector's box habits. :data:`FER_TEMPLATE` was measured, not guessed: see
``benchmarks/align_template.py`` and the README's "Analyze photos" section.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceTemplate:
    """Where the five landmarks (right eye, left eye, nose tip, right and left mouth corner, the
    person's own sides) sit in the canonical crop, as fractions of the crop's width and height.

    ``weights`` weigh each landmark in the least-squares fit (0 leaves it out).
    """

    name: str
    points: tuple[tuple[float, float], ...]
    weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)

    def zoomed(self, zoom: float, shift_y: float = 0.0, name: str | None = None) -> FaceTemplate:
        """The face ``zoom`` times larger in the crop (< 1: more context), ``shift_y`` lower (fraction of the side)."""
        p = np.asarray(self.points, np.float64)
        c = np.array([0.5, 0.5])
        q = c + (p - c) * zoom + np.array([0.0, shift_y])
        return FaceTemplate(name or f"{self.name}@{zoom:g}{shift_y:+g}", tuple(map(tuple, q.round(5).tolist())),
                            self.weights)

    def to_dict(self) -> dict:
        return {"name": self.name, "points": [list(p) for p in self.points], "weights": list(self.weights)}


# The mean landmark positions YuNet finds on FER2013 Training faces (1,909 of 2,000 found, pasted
# upright at 96-160 px into textured backgrounds, mapped back into the 48×48 crop), measured by
# benchmarks/align_template.py (results in benchmarks/results/align_template.md).
FER_TEMPLATE = FaceTemplate(
    "fer-mean",
    ((0.3091, 0.3709), (0.6828, 0.3730), (0.4870, 0.5716), (0.3441, 0.7417), (0.6539, 0.7430)),
)
# Chosen among 22 framings by the rule fixed in benchmarks/align_template.py: the mean FER face 10%
# larger and 4% of the side lower in the crop. FER's mean at 1.0-1.1× its size, 4% lower, scored within
# noise of it; wider framings (0.85-0.9×) and the ArcFace template lost 3-5 points of posed macro-F1.
DEFAULT_TEMPLATE = FER_TEMPLATE.zoomed(1.1, 0.04, name="fer-mean@1.1+0.04")


def similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The 2×3 similarity (rotation, uniform scale, translation; no reflection) that maps ``src``
    points onto ``dst`` points with the least weighted squared error (Umeyama's method)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ fix @ vt
    var_s = float(w @ (s**2).sum(axis=1))
    scale = float(np.trace(np.diag(sig) @ fix) / var_s) if var_s > 0 else 1.0
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def landmark_transforms(landmarks: np.ndarray, template: FaceTemplate, size: tuple[int, int]) -> np.ndarray:
    """N×2×3 transforms from image pixels to crop pixels for N×5×2 landmarks and a (h, w) crop."""
    h, w = size
    dst = np.asarray(template.points, np.float64) * np.array([w, h])
    return np.stack([similarity(lm, dst, np.asarray(template.weights)) for lm in np.asarray(landmarks)]) \
        if len(landmarks) else np.zeros((0, 2, 3))


def warp_crops(gray: np.ndarray, transforms: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Cut N crops of ``size`` (h, w) through N×2×3 image→crop transforms; edges are replicated.

    A face larger than its crop is warped at k× the crop's size (k up to 8, so that the warp does
    not skip source pixels) and then averaged k×k: each crop pixel is the mean of the image area it
    covers, as ``cv2.INTER_AREA`` would give, without aliasing. (A two-stage reduction, cheaper, was
    measurably blurrier and cost 1-3 points on the posed faces of benchmarks/align_template.py.)
    """
    h, w = size
    out = np.empty((len(transforms), h, w), np.uint8)
    for i, m in enumerate(np.asarray(transforms, np.float64)):
        scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
        k = int(min(8, max(1, np.ceil(1.0 / max(scale, 1e-6)))))
        if k == 1:
            out[i] = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            continue
        # crop pixel c is the mean of fine pixels k·c .. k·c+k-1, whose centre is k·c + (k-1)/2
        fine = np.hstack([k * m[:, :2], k * m[:, 2:] + (k - 1) / 2])
        big = cv2.warpAffine(gray, fine, (k * w, k * h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[i] = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return out


def crop_quads(transforms: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """N×4×2 corners (top-left, top-right, bottom-right, bottom-left) of each crop in image pixels."""
    h, w = size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    out = []
    for m in transforms:
        inv = cv2.invertAffineTransform(np.asarray(m, np.float64))
        out.append(corners @ inv[:, :2].T + inv[:, 2])
    return np.asarray(out, np.float64).reshape(-1, 4, 2)
