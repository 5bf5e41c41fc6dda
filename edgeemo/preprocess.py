"""Preprocessing shared by every backend, driven by a model's own metadata.

A :class:`Preprocess` travels inside each checkpoint and each exported model file, so the
same face crop becomes the same tensor whichever runtime executes the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .faces import as_face_batch


@dataclass(frozen=True)
class Preprocess:
    """How a face crop becomes the model's input tensor (NCHW float32).

    ``mean``/``std`` apply after scaling pixels to [0, 1]; ``channels`` is 1 (grayscale) or
    3 (the gray/BGR image given as RGB).
    """

    size: tuple[int, int] = (48, 48)  # (height, width)
    channels: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    interpolation: str = "area"
    layout: str = field(default="NCHW")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"] = list(self.size)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        return cls(
            size=tuple(int(v) for v in d["size"]),
            channels=int(d["channels"]),
            mean=tuple(float(v) for v in d["mean"]),
            std=tuple(float(v) for v in d["std"]),
            interpolation=str(d.get("interpolation", "area")),
            layout=str(d.get("layout", "NCHW")),
        )

    def __call__(self, faces: object) -> np.ndarray:
        return preprocess(faces, self)


_INTERP = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def interpolation_flag(name: str) -> int:
    """OpenCV's flag for a :attr:`Preprocess.interpolation` name (``area`` for an unknown one)."""
    return _INTERP.get(name, cv2.INTER_AREA)


def _to_gray(img: np.ndarray) -> np.ndarray:
    img = np.ascontiguousarray(img)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"a face crop must be H×W, H×W×1, H×W×3 or H×W×4, got shape {img.shape}")


def preprocess(faces: object, spec: Preprocess) -> np.ndarray:
    """Turn face crops into a float32 NCHW batch, under the input contract of :mod:`edgeemo.faces`
    (uint8 0-255 or floats in [0, 1]; one crop is one face; N×H×W, N×H×W×C or a list is a batch).

    Faces are converted to grayscale first (edgeemo's models are trained on gray faces), resized
    to ``spec.size`` and replicated to ``spec.channels``.
    """
    if spec.channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {spec.channels}")
    batch = as_face_batch(faces)
    h, w = spec.size
    if isinstance(batch, np.ndarray) and batch.ndim == 3 and batch.shape[1:] == (h, w):
        gray = batch
    else:
        gray = np.empty((len(batch), h, w), dtype=np.uint8)
        interp = interpolation_flag(spec.interpolation)
        for i, img in enumerate(batch):
            g = _to_gray(img)
            gray[i] = g if g.shape == (h, w) else cv2.resize(g, (w, h), interpolation=interp)
    x = gray.astype(np.float32)[:, None, :, :] * (1.0 / 255.0)
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, -1, 1, 1)
    if spec.channels == 3:
        x = np.repeat(x, 3, axis=1)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)
