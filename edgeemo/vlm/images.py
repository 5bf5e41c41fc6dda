"""Face crops as a vision LLM sees them: upscaled RGB, PNG, data URL, and a content hash.

FER2013 faces are 48×48 grayscale. Vision LLMs expect RGB at a few hundred pixels, so each face
is upscaled with bicubic interpolation to ``size``×``size`` (default 224) and the gray channel
is copied to R, G and B. The model's own preprocessing then resizes again to its input size
(336 for LLaVA 1.5's CLIP ViT-L/14-336; for GPT-4o a 224 image is one low-detail tile).
"""

from __future__ import annotations

import base64
import hashlib

import cv2
import numpy as np

DEFAULT_SIZE = 224


def to_rgb(face: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """``size``×``size``×3 uint8 RGB from a grayscale (H×W) or RGB (H×W×3) face."""
    face = np.asarray(face)
    if face.dtype != np.uint8:
        raise ValueError(f"faces must be uint8, got {face.dtype}")
    if size and face.shape[:2] != (size, size):
        interp = cv2.INTER_CUBIC if size > face.shape[0] else cv2.INTER_AREA
        face = cv2.resize(face, (size, size), interpolation=interp)
    if face.ndim == 2:
        face = np.repeat(face[:, :, None], 3, axis=2)
    return np.ascontiguousarray(face)


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 PNG
        raise ValueError("could not encode PNG")
    return buf.tobytes()


def data_url(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def image_hash(face: np.ndarray) -> str:
    """Hash of the original pixels and shape (preprocessing settings go into the cache key)."""
    face = np.ascontiguousarray(face)
    h = hashlib.sha256(f"{face.dtype}{face.shape}".encode())
    h.update(face.tobytes())
    return h.hexdigest()[:32]
