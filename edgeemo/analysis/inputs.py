"""What ``analyze`` reads: image files, folders (recursively), glob patterns and videos.

Inputs become :class:`Item` objects, one per image or per sampled video frame. Reading is lazy
and never stops the run: a file that cannot be read becomes an item with an ``error`` (the
caller reports it and goes on), and arrays are checked against the input contract.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..demo.sources import IMAGE_SUFFIXES
from ..errors import EdgeemoError
from ..labels import EXCLUDED, class_index

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")
_GLOB_CHARS = set("*?[")


class InputError(EdgeemoError):
    """An input that cannot be analyzed (the message names it and says why)."""


@dataclass
class Item:
    """One image to analyze: a file, a video frame or an array. ``image`` is filled on :meth:`load`."""

    source: str
    frame: int | None = None
    image: np.ndarray | None = None
    error: str | None = None
    read_ms: float = 0.0
    truth: int | None = None

    def load(self) -> np.ndarray:
        """The image as BGR uint8 (reading the file now if needed); raises :class:`InputError`."""
        if self.error is not None:
            raise InputError(self.error)
        if self.image is None:
            t0 = time.perf_counter()
            self.image = read_image(Path(self.source))
            self.read_ms += 1000 * (time.perf_counter() - t0)
        return self.image


def to_bgr(img: object, where: str) -> np.ndarray:
    """An array under the input contract (uint8 0-255, or floats in [0, 1]; gray H×W, H×W×1, BGR
    H×W×3 or BGRA H×W×4) as contiguous BGR uint8."""
    arr = np.asarray(img) if not isinstance(img, np.ndarray) else img
    if arr.dtype.kind == "f":
        if arr.size and (not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1):
            raise InputError(f"{where}: float pixels must be finite and in [0, 1] (or pass uint8 0-255)")
        arr = np.rint(arr * 255.0).astype(np.uint8)
    if arr.dtype != np.uint8:
        raise InputError(f"{where}: unsupported pixel type {arr.dtype}; pass uint8 0-255 or floats in [0, 1]")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 2:
        raise InputError(f"{where}: shape {arr.shape} is not an image (H×W gray, H×W×3 BGR or H×W×4 BGRA)")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(arr)


def read_image(path: Path) -> np.ndarray:
    """A file as BGR uint8 (EXIF orientation applied); raises :class:`InputError` saying why not."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)  # also reads non-ASCII paths on Windows
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise InputError(f"{path}: not an image OpenCV can decode (corrupt, empty or an unsupported format)")
    return img


def _matches(arg: str) -> list[Path]:
    path = Path(arg).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                      and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
    if _GLOB_CHARS & set(arg):
        return sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    return []


def expand_inputs(args: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Files for each argument (a file, a folder searched recursively for images and videos, or a
    glob pattern), in order and without repeats; and one problem line per argument that named nothing."""
    files: dict[Path, None] = {}
    problems = []
    for arg in args:
        found = _matches(str(arg))
        if not found:
            kind = "pattern matched no file" if _GLOB_CHARS & set(str(arg)) else "no such file or folder"
            if Path(str(arg)).is_dir():
                kind = f"folder holds no images or videos ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})"
            problems.append(f"{arg}: {kind}")
        files.update(dict.fromkeys(found))
    return list(files), problems


def folder_label(path: Path) -> int | None:
    """The class of a photo from its folder's name (``happy/x.jpg``: happy), ``EXCLUDED`` for
    contempt and the like, ``None`` when the folder is not named after a class."""
    try:
        return class_index(path.parent.name)
    except KeyError:
        return None


def video_frames(path: Path, every: int = 1) -> Iterator[Item]:
    """Every ``every``-th frame of a video as items; a video that cannot be opened is one error item."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        yield Item(str(path), error=f"{path}: cannot be opened as a video (corrupt, or a codec FFmpeg lacks)")
        return
    try:
        index = 0
        while True:
            t0 = time.perf_counter()
            ok = cap.grab()
            if not ok:
                break
            if index % every == 0:
                ok, img = cap.retrieve()
                ms = 1000 * (time.perf_counter() - t0)
                yield Item(str(path), index, img, read_ms=ms) if ok and img is not None else \
                    Item(str(path), index, error=f"{path}: frame {index} could not be decoded")
            index += 1
    finally:
        cap.release()


def iter_items(files: Iterable[Path], every: int = 1, labels: bool = False) -> Iterator[Item]:
    """Items for image files (read lazily) and video frames; with ``labels`` each item carries its
    folder's class and photos in excluded classes (contempt) are left out."""
    if every < 1:
        raise EdgeemoError(f"--every must be at least 1, got {every}")
    for path in files:
        truth = folder_label(path) if labels else None
        if truth == EXCLUDED:
            continue
        if path.suffix.lower() in VIDEO_SUFFIXES:
            for item in video_frames(path, every):
                item.truth = truth
                yield item
        else:
            yield Item(str(path), truth=truth)


def count_items(files: Sequence[Path], every: int = 1) -> int:
    """How many items :func:`iter_items` will give (videos by their frame count), for a progress bar."""
    n = 0
    for path in files:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            cap = cv2.VideoCapture(str(path))
            frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
            cap.release()
            n += max(1, -(-frames // every))
        else:
            n += 1
    return n
