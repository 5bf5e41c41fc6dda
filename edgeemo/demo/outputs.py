"""Writers for ``--output`` (annotated video) and ``--jsonl`` (per-frame, per-face results)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeemoError

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


class VideoOutput:
    """Writes annotated frames to a video file, opened on the first frame (whose size it keeps)."""

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        self.path = Path(path)
        fourcc = FOURCC_BY_SUFFIX.get(self.path.suffix.lower())
        if fourcc is None:
            raise EdgeemoError(f"--output {self.path}: unsupported video type {self.path.suffix or '(none)'}; "
                               f"use one of {', '.join(FOURCC_BY_SUFFIX)}")
        self.fourcc = cv2.VideoWriter_fourcc(*fourcc)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, img: np.ndarray) -> None:
        if self._writer is None:
            self._size = (img.shape[1], img.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), self.fourcc, self.fps, self._size)
            if not self._writer.isOpened():
                raise EdgeemoError(f"--output {self.path}: OpenCV cannot write this file (is the folder writable? "
                                   "try an .avi name)")
        if (img.shape[1], img.shape[0]) != self._size:
            img = cv2.resize(img, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(img)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class JsonlOutput:
    """One JSON object per processed frame: index, time, stage times and every face's result."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._f = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise EdgeemoError(f"--jsonl {self.path}: cannot write it ({exc.strerror})") from exc
        self.lines = 0

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.lines += 1
        if self.lines % 30 == 0:
            self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
