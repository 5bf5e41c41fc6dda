"""The input contract for face crops and frames, in one place for the API, the loaders and the demo.

* **uint8, 0–255** is the native form; gray (H×W, H×W×1), BGR (H×W×3) or BGRA (H×W×4).
* **Floats** (float16/32/64) are accepted only in **[0, 1]** and become ``round(255 · x)``.
* Every other dtype (bool, int16, uint16, int64, ...), NaN or infinity, a crop with no pixels
  (0×0, H×0) and a shape that is not an image is one clear :class:`FaceInputError`.
* One crop (H×W, H×W×1, H×W×3, H×W×4) is **one face**; N×H×W (with W not 1, 3 or 4),
  N×H×W×C and a list of crops are batches. An empty batch is zero faces.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import EdgeemoError

CHANNELS = (1, 3, 4)
MIN_SIDE = 8  # a batch N×H×W of faces narrower than this is read as a mis-shaped crop
CONTRACT = ("face crops are uint8 0-255 (gray H×W, BGR H×W×3 or BGRA H×W×4) or floats in [0, 1]; "
            "a single crop is one face, N×H×W or a list of crops is a batch")


class FaceInputError(EdgeemoError, ValueError):
    """Face crops (or frames) that do not meet the input contract."""


def _fail(where: str, what: str) -> FaceInputError:
    return FaceInputError(f"{where}: {what}; {CONTRACT}")


def to_uint8(pixels: object, where: str = "face crop") -> np.ndarray:
    """Pixels as uint8 0–255 under the contract (any shape; no copy for uint8 input)."""
    if pixels is None:
        raise _fail(where, "got None instead of an image")
    arr = pixels if isinstance(pixels, np.ndarray) else np.asarray(pixels)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        if arr.size and not np.isfinite(arr).all():
            raise _fail(where, f"{int((~np.isfinite(arr)).sum())} pixel value(s) are NaN or infinite")
        if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
            raise _fail(where, f"float pixels must lie in [0, 1], these span [{float(arr.min()):g}, "
                               f"{float(arr.max()):g}] (divide 0-255 floats by 255, or cast them to uint8)")
        return np.rint(arr.astype(np.float32) * 255.0).astype(np.uint8)
    kind = "object or mixed values" if arr.dtype == object else str(arr.dtype)
    hint = " (convert with .astype(np.uint8) if the values are 0-255)" if arr.dtype.kind in "iu" else ""
    raise _fail(where, f"unsupported pixel type {kind}{hint}")


def check_crop(img: np.ndarray, where: str = "face crop") -> np.ndarray:
    """One crop: H×W or H×W×{1,3,4} uint8 with at least one pixel."""
    img = to_uint8(img, where)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in CHANNELS):
        raise _fail(where, f"shape {img.shape} is not an image")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise _fail(where, f"the crop has no pixels (shape {img.shape})")
    return img


def is_single_crop(arr: np.ndarray) -> bool:
    """H×W, or H×W×C with C in 1/3/4: one face, not a batch."""
    return arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in CHANNELS)


def as_face_batch(faces: object, where: str = "faces") -> np.ndarray | list[np.ndarray]:
    """Faces as an N×H×W[×C] uint8 array (one size) or a list of checked crops (mixed sizes)."""
    if faces is None:
        raise _fail(where, "got None instead of face crops")
    if isinstance(faces, str | bytes):
        raise _fail(where, f"got a {type(faces).__name__}, not an image")
    array_like = isinstance(faces, np.ndarray) or hasattr(faces, "__array__") or hasattr(faces, "__array_interface__")
    if not array_like and isinstance(faces, Iterable):
        return [check_crop(f, f"{where}[{i}]") for i, f in enumerate(faces)]
    arr = np.asarray(faces)
    if is_single_crop(arr):
        return check_crop(arr, where)[None]
    if (arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[3] not in CHANNELS)
            or (arr.ndim == 3 and 0 < arr.shape[2] < MIN_SIDE)):  # H×W×5 is a mistake, not 48 faces 5 wide
        raise _fail(where, f"shape {arr.shape} is neither one crop nor a batch of crops")
    if len(arr) and (arr.shape[1] == 0 or arr.shape[2] == 0):
        raise _fail(where, f"the crops have no pixels (batch shape {arr.shape})")
    return to_uint8(arr, where)


def check_batch_size(batch_size: int) -> int:
    if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool) or batch_size < 1:
        raise FaceInputError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    return int(batch_size)
