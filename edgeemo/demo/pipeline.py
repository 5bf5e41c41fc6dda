"""The live pipeline: capture → detect → crop and preprocess → classify (one batch) → track → smooth → draw.

:class:`EmotionPipeline` turns one frame into per-face results; :func:`run_demo` drives it from
a source to a window, a web page, a video file and/or a JSONL file, and always stops cleanly.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..align import DEFAULT_TEMPLATE, FaceTemplate
from ..classifier import EmotionClassifier, softmax
from ..crops import CropGeometry, box_geometry, face_crops
from ..detectors import DEFAULT_DETECTOR, Detections, FaceDetector, make_detector
from ..errors import EdgeemoError
from ..scoring import finite_logits
from .overlay import annotate
from .smooth import ProbabilitySmoother
from .sources import FrameSource, SourceStalled, open_source
from .track import IouTracker

STAGES = ("capture", "detect", "preprocess", "infer", "track", "draw", "output")
DISPLAYS = ("window", "web", "none")


@dataclass
class FaceResult:
    """One face in one frame. ``probs`` are smoothed over the track; ``raw_probs`` are this frame's."""

    track_id: int
    box: tuple[int, int, int, int]  # the detector's box (x, y, w, h)
    crop: tuple[int, int, int, int]  # the bounds (x, y, w, h) of the region that was classified
    score: float
    probs: np.ndarray
    raw_probs: np.ndarray
    label: str
    confidence: float
    landmarks: np.ndarray | None = None

    def to_dict(self, classes: tuple[str, ...]) -> dict:
        d = {
            "id": self.track_id,
            "box": list(self.box),
            "crop": list(self.crop),
            "score": round(self.score, 3),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probs": {c: round(float(p), 4) for c, p in zip(classes, self.probs)},
            "raw_label": classes[int(np.argmax(self.raw_probs))],
        }
        if self.landmarks is not None:
            d["landmarks"] = np.round(self.landmarks, 1).tolist()
        return d


def _bounds(quad: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(quad.min(axis=0))
    x1, y1 = np.ceil(quad.max(axis=0))
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


class EmotionPipeline:
    """Detect every face in a frame, classify them in one batch, keep ids and smooth their probabilities.

    Faces are aligned on their landmarks with ``template`` when the detector gives landmarks
    (``template=None``: square crops around the boxes, framed by ``geometry``).

    >>> pipe = EmotionPipeline(EmotionClassifier("default"))
    >>> faces = pipe.process(bgr_frame)       # list of FaceResult
    """

    def __init__(self, classifier: EmotionClassifier, detector: FaceDetector | None = None,
                 tracker: IouTracker | None = None, smoother: ProbabilitySmoother | None = None,
                 geometry: CropGeometry | None = None, max_faces: int = 64, detect_every: int = 1,
                 template: FaceTemplate | None = DEFAULT_TEMPLATE) -> None:
        self.classifier = classifier
        self.classes = tuple(classifier.classes)
        self.detector = detector or make_detector(DEFAULT_DETECTOR)
        self.tracker = tracker or IouTracker()
        self.smoother = smoother or ProbabilitySmoother()
        self.geometry = geometry or box_geometry(self.detector.name)
        self.template = template
        self.max_faces = max_faces
        if detect_every < 1 or max_faces < 1:
            raise EdgeemoError(f"detect_every and max_faces must be at least 1, got {detect_every} and {max_faces}")
        self.detect_every = detect_every
        self.input_size = tuple(classifier.meta.preprocess.size)
        self._n = 0
        self._scores: dict[int, float] = {}
        self._landmarks: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (landmarks, box when detected)

    def _detect(self, bgr: np.ndarray, gray: np.ndarray) -> tuple[Detections, list[int] | None]:
        """This frame's faces: detected (ids None: the tracker assigns them) or coasted along their tracks."""
        if self._n % self.detect_every == 0:
            dets = self.detector.detect(bgr, gray)
            if len(dets) > self.max_faces:  # keep the largest faces
                dets = dets.by_size().take(np.arange(self.max_faces))
            return dets, None
        ids, coasted = self.tracker.coast()  # between detections the tracked boxes move on along their velocity
        boxes = np.round(coasted).astype(np.int64).reshape(-1, 4)
        scores = np.array([self._scores.get(i, 0.0) for i in ids], np.float32)
        lms = None
        if self.detector.has_landmarks and all(i in self._landmarks for i in ids):
            lms = np.array([lm + (b[:2] + b[2:] / 2 - ob[:2] - ob[2:] / 2)
                            for i, b in zip(ids, boxes) for lm, ob in [self._landmarks[i]]], np.float32)
            lms = lms.reshape(-1, 5, 2)
        return Detections(boxes, scores, lms), ids

    def _remember(self, ids: list[int], dets: Detections) -> None:
        ids_now, dropped = self.tracker.update(dets.boxes)
        self.smoother.drop(dropped)
        for tid in dropped:
            self._scores.pop(tid, None)
            self._landmarks.pop(tid, None)
        self._scores.update(zip(ids_now, map(float, dets.scores)))
        if dets.landmarks is not None:
            self._landmarks.update({t: (dets.landmarks[k], dets.boxes[k].astype(np.float64))
                                    for k, t in enumerate(ids_now)})
        ids[:] = ids_now

    def process(self, bgr: np.ndarray, times: dict[str, float] | None = None) -> list[FaceResult]:
        """Results for one BGR frame; adds per-stage seconds to ``times`` if given."""
        times = {} if times is None else times
        t0 = time.perf_counter()
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        dets, ids = self._detect(bgr, gray)
        self._n += 1
        t1 = time.perf_counter()
        crops, quads = face_crops(gray, dets, self.input_size, self.template, self.geometry,
                                 self.classifier.meta.preprocess.interpolation)
        x = self.classifier.preprocess(crops) if len(dets) else None
        t2 = time.perf_counter()
        if x is not None:
            raw = softmax(finite_logits(self.classifier.backend.predict(x)))
        else:
            raw = np.zeros((0, len(self.classes)), np.float32)
        t3 = time.perf_counter()
        if ids is None:
            ids = []
            self._remember(ids, dets)
        probs = self.smoother.update(ids, raw)
        faces = []
        for i, tid in enumerate(ids):
            k = int(np.argmax(probs[i]))
            faces.append(FaceResult(
                tid, tuple(int(v) for v in dets.boxes[i]), _bounds(quads[i]), float(dets.scores[i]),
                probs[i], raw[i], self.classes[k], float(probs[i][k]),
                None if dets.landmarks is None else dets.landmarks[i]))
        t4 = time.perf_counter()
        for name, dt in (("detect", t1 - t0), ("preprocess", t2 - t1), ("infer", t3 - t2), ("track", t4 - t3)):
            times[name] = times.get(name, 0.0) + dt
        return faces

    def reset(self) -> None:
        self._n = 0
        self._scores.clear()
        self._landmarks.clear()
        self.tracker.reset()
        self.smoother = ProbabilitySmoother(self.smoother.method, self.smoother.alpha, self.smoother.window)


@dataclass
class DemoSummary:
    """What a demo run did, and why it stopped."""

    source: str
    frames: int = 0
    face_detections: int = 0
    tracks: int = 0
    skipped_frames: int = 0
    seconds: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)  # mean per processed frame
    stop_reason: str = ""  # ended, max_frames, interrupted, closed, stalled, disconnected, error, stopped
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    url: str | None = None

    @property
    def fps(self) -> float:
        """Frames per second end to end (wall clock, pacing included)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def pipeline_fps(self) -> float:
        """Frames per second the stages would sustain back to back (capture wait excluded)."""
        busy = sum(v for k, v in self.stages_ms.items() if k != "capture")
        return 1000.0 / busy if busy > 0 else 0.0


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _resolve_display(display: str) -> tuple[str, str | None]:
    """The display to use and, when ``auto`` fell back to the web page, why no window could open."""
    from .display import gui_problem, require_gui

    if display not in DISPLAYS + ("auto",):
        raise EdgeemoError(f"display must be one of auto, {', '.join(DISPLAYS)}, got {display!r}")
    if display == "window":
        require_gui()
    if display != "auto":
        return display, None
    problem = gui_problem()
    return ("web", problem) if problem else ("window", None)


@dataclass
class DemoOptions:
    """Everything :func:`run_demo` can be told besides the source, the model and the backend."""

    display: str = "auto"  # window | web | none | auto (a window where one can open, else the web page)
    detector: str | FaceDetector = DEFAULT_DETECTOR  # yunet (shipped), haar, or a FaceDetector
    detector_model: str | Path | None = None
    detect_width: int = 320
    min_face: int | None = None
    align: bool = True  # warp faces onto the FER-like template from their landmarks
    crop_scale: float | None = None  # None: the detector's own framing
    crop_shift: float | None = None
    smoothing: str = "ema"
    alpha: float = 0.3
    window: int = 8
    output: str | Path | None = None  # annotated video
    jsonl: str | Path | None = None  # one JSON line per frame
    host: str = "127.0.0.1"
    port: int = 8000
    max_frames: int | None = None
    loop: bool = False
    realtime: bool | None = None  # None: pace files at their own FPS when shown
    stall_timeout: float = 5.0
    threads: int | None = None
    precision: str = "auto"  # the shipped model: INT8 where measured faster here
    max_faces: int = 64
    detect_every: int = 2
    classifier: EmotionClassifier | None = None
    stop_event: threading.Event | None = None
    on_ready: Callable[[str | None], None] | None = None
    log: Callable[[str], None] | None = _stderr
    browser: bool = True  # open the page in a browser when auto fell back to it on a desktop


def run_demo(source: int | str | Path | Iterable | FrameSource = 0, model: str | Path = "default",
             backend: str = "auto", **options) -> DemoSummary:
    """Run the live demo until the source ends, ``max_frames``, q/Esc/window closed, ``stop_event`` or Ctrl-C.

    ``options`` are the fields of :class:`DemoOptions`: ``display`` is ``window`` (OpenCV window),
    ``web`` (serve ``http://host:port/``), ``none``, or ``auto``: a window where one can open, else the
    web page (its address is printed and, with ``browser`` and a desktop session, opened in a browser).
    ``detector`` is ``yunet`` (shipped), ``haar`` or a :class:`FaceDetector`; with ``align`` faces are
    warped onto the FER-like template from their landmarks, else cut as squares around their boxes
    (``crop_scale``, ``crop_shift``). Files are played at their own frame rate when shown
    (``realtime=None``), as fast as possible otherwise. With ``detect_every`` N > 1 the detector
    runs on every Nth frame and the tracked boxes move on in between (each frame is still classified);
    at most ``max_faces`` (the largest) are kept. ``on_ready(url)`` is called once the source, model
    and server are up. Problems the user can fix raise :class:`EdgeemoError` before the loop starts;
    once it runs, a source that ends, stalls or disconnects stops it cleanly, with the reason in the summary.
    """
    o = DemoOptions(**options)
    say = o.log or (lambda _msg: None)
    display, fallback = _resolve_display(o.display)
    smoother, det, geometry = _parts(o)
    src = open_source(source, stall_timeout=o.stall_timeout, loop=o.loop)  # before the model: fail fast
    summary = DemoSummary(source=src.name)
    realtime = o.realtime if o.realtime is not None else (display != "none" and not src.live
                                                          and src.fps is not None)
    outs, pipe, totals = _Outputs(), None, dict.fromkeys(STAGES, 0.0)
    try:
        clf = o.classifier or EmotionClassifier(model, backend=backend, threads=o.threads, precision=o.precision)
        if getattr(clf, "precision_choice", None) is not None:
            say(f"model {Path(str(clf.path)).name}: {clf.precision_choice.describe()}")
        pipe = EmotionPipeline(clf, det, IouTracker(), smoother, geometry, o.max_faces, o.detect_every,
                               DEFAULT_TEMPLATE if o.align else None)
        outs.open(o, display, fallback, src, clf, det, summary, say)
        if o.on_ready:
            o.on_ready(summary.url)
        loop = _Loop(pipe, src, summary, totals, outs, realtime, say)
        summary.stop_reason, summary.message = loop.run(o.max_frames, o.stop_event)
    except KeyboardInterrupt as exc:
        summary.stop_reason, summary.message = "interrupted", str(exc) or "stopped by Ctrl-C"
    finally:
        summary.skipped_frames = src.skipped
        src.close()
        outs.close(summary)
    n = max(summary.frames, 1)
    summary.stages_ms = {k: 1000.0 * v / n for k, v in totals.items()}
    summary.tracks = pipe.tracker.started if pipe is not None else 0
    return summary


def _parts(o: DemoOptions) -> tuple[ProbabilitySmoother, FaceDetector, CropGeometry]:
    """The smoother, detector and crop geometry the options ask for (errors before anything opens)."""
    try:
        smoother = ProbabilitySmoother(o.smoothing, o.alpha, o.window)
    except ValueError as exc:
        raise EdgeemoError(str(exc)) from exc
    det = (make_detector(o.detector, o.detector_model, o.detect_width, o.min_face) if isinstance(o.detector, str)
           else o.detector)
    base = box_geometry(det.name)
    geometry = CropGeometry(base.scale if o.crop_scale is None else o.crop_scale,
                            base.shift if o.crop_shift is None else o.crop_shift)
    return smoother, det, geometry


class _Outputs:
    """Where annotated frames go: files (video, JSONL), the web page, the window."""

    def __init__(self) -> None:
        self.files: list = []
        self.jsonl = None
        self.server = self.hub = self.win = None

    def open(self, o: DemoOptions, display: str, fallback: str | None, src: FrameSource, clf: EmotionClassifier,
             det: FaceDetector, summary: DemoSummary, say: Callable[[str], None]) -> None:
        if o.output:
            from .outputs import VideoOutput

            self.files.append(VideoOutput(o.output, fps=src.fps or 30.0))
        if o.jsonl:
            from .outputs import JsonlOutput

            self.jsonl = JsonlOutput(o.jsonl)
        if display == "web":
            from .web import FrameHub, WebServer

            self.hub = FrameHub()
            self.server = WebServer(self.hub, o.host, o.port).start()
            summary.url = self.server.url
            self.hub.set_stats(source=src.name, model=Path(str(clf.path)).name, detector=det.name, status="starting")
            if fallback:
                say(f"no window can open here ({fallback}); serving the demo as a web page instead")
            say(f"serving the live stream on {self.server.url} (Ctrl-C to stop)")
            if o.host not in ("127.0.0.1", "localhost", "::1"):
                say(f"note: --host {o.host} makes the stream visible to other machines on the network")
            if fallback and o.browser:
                from .display import open_browser

                open_browser(self.server.url)
        elif display == "window":
            from .display import Window

            self.win = Window()

    def close(self, summary: DemoSummary) -> None:
        for sink in [*self.files, *([self.jsonl] if self.jsonl else [])]:
            sink.close()
            summary.outputs.append(str(sink.path))
        if self.hub is not None:
            self.hub.set_stats(status=f"stopped: {summary.message}")
        if self.server is not None:
            self.server.close()
        if self.win is not None:
            self.win.close()


class _Loop:
    """The frame loop: read, process, draw, pace, show and write, timing every stage."""

    def __init__(self, pipe: EmotionPipeline, src: FrameSource, summary: DemoSummary, totals: dict[str, float],
                 outs: _Outputs, realtime: bool, say: Callable[[str], None]) -> None:
        self.pipe, self.src, self.summary, self.totals, self.outs = pipe, src, summary, totals, outs
        self.realtime, self.say = realtime, say
        self.shown = dict.fromkeys(STAGES, 0.0)  # smoothed stage times for the overlay
        self.frame_s = 0.0  # smoothed wall time per frame (pacing included): the overlay's FPS is its inverse
        self.errors = 0

    def run(self, max_frames: int | None, stop_event: threading.Event | None) -> tuple[str, str]:
        """Process frames until something stops the run; returns (stop reason, message)."""
        self.start = self.t_prev = time.perf_counter()
        while True:
            if stop_event is not None and stop_event.is_set():
                return "stopped", "stopped on request"
            if max_frames is not None and self.summary.frames >= max_frames:
                return "max_frames", f"processed {self.summary.frames} frames (--max-frames)"
            times: dict[str, float] = {}
            t0 = time.perf_counter()
            try:
                frame = self.src.read()
            except SourceStalled as exc:
                return "stalled", str(exc)
            if frame is None:
                return self.src.end_reason or "ended", self.src.message or f"{self.src.name} ended"
            times["capture"] = time.perf_counter() - t0
            if not self.step(frame, times):
                return "closed", "window closed"

    def step(self, frame, times: dict[str, float]) -> bool:
        """One frame; False once the window was closed."""
        try:
            faces = self.pipe.process(frame.image, times)
        except (cv2.error, ValueError) as exc:  # a frame OpenCV cannot work with: skip it, say so
            self.errors += 1
            self.src.skipped += 1
            if self.errors <= 3:
                self.say(f"skipped frame {frame.index}: {type(exc).__name__}: {str(exc).strip()[-160:]}")
            return True
        t1 = time.perf_counter()
        fps = 1.0 / self.frame_s if self.frame_s > 0 else 0.0
        img = annotate(frame.image, faces, self.pipe.classes, fps,
                       {k: self.shown[k] * 1000 for k in STAGES if k != "output"})
        times["draw"] = time.perf_counter() - t1
        self.summary.frames += 1
        self.summary.face_detections += len(faces)
        if self.realtime:  # pacing is waiting, not a stage: it is left out of the stage times
            delay = frame.time - (time.perf_counter() - self.start)
            if delay > 0:
                time.sleep(delay)
        t2 = time.perf_counter()
        keep_going = self._show(img, frame, faces, fps)
        times["output"] = time.perf_counter() - t2
        if self.outs.jsonl is not None:
            self.outs.jsonl.write({"frame": frame.index, "time": round(frame.time, 4),
                                   "faces": [f.to_dict(self.pipe.classes) for f in faces],
                                   "stages_ms": {k: round(v * 1000, 3) for k, v in times.items()}})
        self._account(times)
        return keep_going

    def _show(self, img: np.ndarray, frame, faces: list[FaceResult], fps: float) -> bool:
        keep_going = self.outs.win.show(img) if self.outs.win is not None else True
        if self.outs.hub is not None:
            self.outs.hub.publish(img, {
                "source": self.src.name, "model": Path(str(self.pipe.classifier.path)).name,
                "detector": self.pipe.detector.name, "frame": frame.index, "fps": round(fps, 2),
                "faces": [{"id": f.track_id, "label": f.label, "confidence": round(f.confidence, 3)} for f in faces],
                "tracks": self.pipe.tracker.started,
                "stages_ms": {k: round(v * 1000, 2) for k, v in self.shown.items()}, "status": "live"})
        for sink in self.outs.files:
            sink.write(img)
        return keep_going

    def _account(self, times: dict[str, float]) -> None:
        first = self.summary.frames == 1
        for k in STAGES:
            self.totals[k] += times.get(k, 0.0)
            self.shown[k] = times.get(k, 0.0) if first else 0.9 * self.shown[k] + 0.1 * times.get(k, 0.0)
        now = time.perf_counter()
        dt, self.t_prev = now - self.t_prev, now
        self.frame_s = dt if first or self.frame_s == 0.0 else 0.9 * self.frame_s + 0.1 * dt
        self.summary.seconds = now - self.start
