"""Frame sources: a camera index, a video file, a network stream, a folder of images, or any iterable.

Every source is read on a background thread, so a camera or stream that stalls is noticed
(:class:`SourceStalled` after ``stall_timeout`` seconds without a frame) instead of hanging the
demo. Live sources keep only the newest frame (no lag builds up); files and folders are read
in order without dropping frames. Frames that are not images (``None``, empty, wrong shape or
type) are skipped and counted, never passed on.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeemoError
from ..faces import FaceInputError, check_crop

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
# Consecutive failed reads after which a live source counts as disconnected.
MAX_FAILED_READS = 30


class SourceError(EdgeemoError):
    """A source could not be opened."""


class SourceStalled(EdgeemoError):
    """A live source delivered no frame within the stall timeout."""


@dataclass
class Frame:
    """One frame: BGR uint8 pixels, its index in the source and its time in seconds."""

    image: np.ndarray
    index: int
    time: float


def as_bgr(img: object) -> np.ndarray | None:
    """The frame as contiguous BGR uint8, or ``None`` if it is not a usable image (the input
    contract of :mod:`edgeemo.faces`: uint8, or floats in [0, 1]; gray, BGR or BGRA)."""
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
        return None
    try:
        img = check_crop(img, "frame")
    except FaceInputError:
        return None
    if img.shape[0] < 2 or img.shape[1] < 2:
        return None
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 3:
        return np.ascontiguousarray(img)
    if img.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)


def describe(source: object) -> str:
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return f"camera {source}"
    if isinstance(source, (str, Path)):
        return str(source)
    return f"frames from {type(source).__name__}"


class FrameSource:
    """Base class: ``read()`` returns the next :class:`Frame`, or ``None`` when the source ended.

    After the end, ``end_reason`` says why (``"ended"``, ``"disconnected"``, ...) and
    ``message`` says it in words.
    """

    live: bool = False
    name: str = "source"

    def __init__(self, stall_timeout: float = 5.0) -> None:
        self.stall_timeout = stall_timeout
        self.skipped = 0  # frames that were not usable images (damaged ones included)
        self.bad_frames = 0  # frames of a file that could not be decoded
        self.end_reason: str | None = None
        self.message: str = ""
        self._queue: queue.Queue = queue.Queue(maxsize=1 if self.live else 4)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0
        self._t0 = 0.0

    # -- subclasses implement these -----------------------------------------------------------
    def _grab(self) -> tuple[bool, object]:
        """One raw read: (ok, image). ``ok`` False means end of stream or a failed read."""
        raise NotImplementedError

    def _release(self) -> None:
        pass

    @property
    def fps(self) -> float | None:
        """The source's nominal frame rate, if it has one."""
        return None

    # -- the reader thread ----------------------------------------------------------------------
    def start(self) -> FrameSource:
        if self._thread is None:
            self._t0 = time.perf_counter()
            self._thread = threading.Thread(target=self._run, name=f"edgeemo-source-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            if self.live and isinstance(item, Frame):
                try:  # keep only the newest frame
                    self._queue.get_nowait()
                except queue.Empty:
                    pass
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        failed = 0
        try:
            while not self._stop.is_set():
                ok, raw = self._grab()
                if not ok:
                    if not self.live:
                        failed += 1
                        if failed < MAX_FAILED_READS and self._more_after_failure():
                            continue  # a damaged frame: try the next one (counted once a later one decodes)
                        if self._rewind():  # --loop
                            failed = 0
                            continue
                        self._finish("ended", self._end_message())
                        return
                    failed += 1
                    if failed >= MAX_FAILED_READS:
                        self._finish("disconnected", f"{self.name} stopped delivering frames after {self._count} "
                                                     "(disconnected?); check the cable or stream and start again")
                        return
                    time.sleep(0.01)
                    continue
                if failed and not self.live:
                    self.bad_frames += failed
                    self.skipped += failed
                failed = 0
                img = as_bgr(raw)
                if img is None:
                    self.skipped += 1
                    continue
                fps = self.fps
                t = self._count / fps if fps and not self.live else time.perf_counter() - self._t0
                self._put(Frame(img, self._count, t))
                self._count += 1
        except Exception as exc:  # a decoder or a user iterable failing must not kill the demo silently
            self._finish("error", f"{self.name} failed after {self._count} frames: {type(exc).__name__}: {exc}")
            return
        self._finish("stopped", f"{self.name} closed")

    def _more_after_failure(self) -> bool:
        """Whether a failed read of a file may be a damaged frame with more frames after it."""
        return False

    def _rewind(self) -> bool:
        """Start a file source again (``--loop``); False when it does not loop."""
        return False

    def _frames_total(self) -> int | None:
        return None

    def _end_message(self) -> str:
        total = self._frames_total()
        if total is not None:  # frames at the end that never decoded are damaged frames too
            tail = total - self._count - self.skipped
            if tail > 0:
                self.bad_frames += tail
                self.skipped += tail
        msg = f"{self.name} ended after {self._count} frames"
        if self.bad_frames:
            msg += f"; {self.bad_frames} damaged frame(s) could not be decoded and were skipped"
        return msg

    def _finish(self, reason: str, message: str) -> None:
        if self.end_reason is None:
            self.end_reason, self.message = reason, message
        self._put(None)

    def read(self) -> Frame | None:
        """The next frame; ``None`` at the end. Raises :class:`SourceStalled` after ``stall_timeout``."""
        self.start()
        if self.end_reason is not None and self._queue.empty():
            return None
        try:
            item = self._queue.get(timeout=self.stall_timeout)
        except queue.Empty:
            self.end_reason = "stalled"
            self.message = (f"no frame from {self.name} for {self.stall_timeout:g} s: the source stalled or was "
                            "disconnected; check it, or raise --stall-timeout for a slow stream")
            raise SourceStalled(self.message) from None
        if item is None:
            self._queue.put_nowait(None)  # later reads see the end too
        return item

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Stop the reader; release the device unless a read is stuck in it (then the thread dies with us)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            if self._thread.is_alive():
                return
        self._release()

    def __enter__(self) -> FrameSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class CaptureSource(FrameSource):
    """A camera index, a video file or a network stream, through ``cv2.VideoCapture``."""

    def __init__(self, source: int | str, stall_timeout: float = 5.0, loop: bool = False,
                 open_timeout: float = 10.0) -> None:
        self.is_camera = isinstance(source, int)
        self.is_stream = isinstance(source, str) and source.lower().startswith(STREAM_PREFIXES)
        self.live = self.is_camera or self.is_stream
        self.name = describe(source)
        self.loop = loop and not self.live
        super().__init__(stall_timeout)
        self.cap = self._open(source, open_timeout)
        self._fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def _open(self, source: int | str, open_timeout: float) -> cv2.VideoCapture:
        if self.is_camera:
            dev = Path(f"/dev/video{source}")
            if os.name == "posix" and Path("/dev").is_dir() and not dev.exists() and os.uname().sysname == "Linux":
                raise SourceError(
                    f"camera {source} could not be opened: {dev} does not exist. Plug a camera in, pick another "
                    "index (ls /dev/video*), or pass a video file, stream URL or image folder with --source"
                )
            cap = cv2.VideoCapture(source)
        elif self.is_stream:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000),
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.stall_timeout * 1000)]
            cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
        else:
            if not Path(source).exists():
                raise SourceError(f"{source}: no such video file, folder or camera; pass a camera index (0), "
                                  "a video file, an rtsp:// or http:// URL, or a folder of images")
            cap = cv2.VideoCapture(str(source))
        if not cap.isOpened():
            cap.release()
            what = {True: "the camera exists but could not be opened (in use by another program? no permission?)"}
            hint = what.get(self.is_camera) or (
                "check the URL, the network and that the stream is live" if self.is_stream
                else "OpenCV cannot decode it; is it a complete video in a format FFmpeg reads (mp4, avi, mkv)?"
            )
            raise SourceError(f"{self.name} could not be opened: {hint}")
        return cap

    @property
    def fps(self) -> float | None:
        return self._fps if 0 < self._fps < 1000 else None

    def _grab(self) -> tuple[bool, object]:
        return self.cap.read()

    def _more_after_failure(self) -> bool:
        return not self.live

    def _rewind(self) -> bool:
        if not (self.loop and self._count > 0):
            return False
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        return True

    def _frames_total(self) -> int | None:
        total = self.cap.get(cv2.CAP_PROP_FRAME_COUNT) if not self.live else 0
        return int(total) if total and total > 0 and not self.loop else None

    def _release(self) -> None:
        self.cap.release()


class FolderSource(FrameSource):
    """The images in a folder, in name order; unreadable files are skipped and counted."""

    def __init__(self, folder: str | Path, stall_timeout: float = 5.0, loop: bool = False, fps: float = 10.0) -> None:
        self.folder = Path(folder)
        self.name = str(folder)
        self.loop = loop
        self._fps = fps
        super().__init__(stall_timeout)
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{folder}: no images in this folder (looked for {', '.join(IMAGE_SUFFIXES)})")
        self._pos = 0

    @property
    def fps(self) -> float | None:
        return self._fps

    def _grab(self) -> tuple[bool, object]:
        if self._pos >= len(self.files):
            if not self.loop:
                return False, None
            self._pos = 0
        path = self.files[self._pos]
        self._pos += 1
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return True, img  # None (unreadable) is counted as skipped


class IterableSource(FrameSource):
    """Frames from any Python iterable of images, in order; an iterator that blocks counts as stalled."""

    def __init__(self, frames: Iterable, stall_timeout: float = 5.0, fps: float | None = None) -> None:
        self.name = describe(frames)
        self._fps = fps
        super().__init__(stall_timeout)
        self._it = iter(frames)

    @property
    def fps(self) -> float | None:
        return self._fps

    def _grab(self) -> tuple[bool, object]:
        try:
            img = next(self._it)
        except StopIteration:
            return False, None
        return True, img.copy() if isinstance(img, np.ndarray) else img  # the overlay draws on frames


def open_source(source: int | str | Path | Iterable, stall_timeout: float = 5.0, loop: bool = False) -> FrameSource:
    """Open ``--source``: a camera index (``0``), a video file, a stream URL, a folder, or an iterable of images."""
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, str) and source.strip().isdigit():
        source = int(source.strip())
    if isinstance(source, int):
        return CaptureSource(source, stall_timeout)
    if isinstance(source, (str, Path)):
        text = str(source)
        if text.lower().startswith(STREAM_PREFIXES):
            return CaptureSource(text, stall_timeout)
        path = Path(text).expanduser()
        if path.is_dir():
            return FolderSource(path, stall_timeout, loop=loop)
        return CaptureSource(str(path), stall_timeout, loop=loop)
    if isinstance(source, Iterable):
        return IterableSource(source, stall_timeout)
    raise SourceError(f"cannot read frames from a {type(source).__name__}; pass a camera index, a video file, "
                      "a stream URL, a folder of images or an iterable of images")
