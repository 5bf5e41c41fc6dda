"""Unit tests of the live demo's parts: tracker, smoothing, crops, sources, failure handling, web server, CLI.

These need neither a trained model nor the real data: where a classifier is needed, a small
stand-in with the same interface scores faces by brightness.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edgeemo.errors import EdgeemoError
from edgeemo.labels import CLASSES
from edgeemo.preprocess import Preprocess


class StubClassifier:
    """The parts of EmotionClassifier the demo uses; logits depend on a crop's mean brightness."""

    classes = CLASSES
    path = Path("stub.onnx")
    meta = SimpleNamespace(preprocess=Preprocess())

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.backend = SimpleNamespace(predict=self._predict)

    def preprocess(self, faces):
        return self.meta.preprocess(faces)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        m = x.reshape(len(x), -1).mean(axis=1)
        return np.stack([-((m - c) ** 2) * 4 for c in np.linspace(-2, 2, 7)], axis=1).astype(np.float32)


class SquareDetector:
    """Finds the bright squares :func:`face_frame` draws (a stand-in for a face detector)."""

    name = "squares"
    has_landmarks = False

    def detect(self, bgr: np.ndarray, gray: np.ndarray | None = None):
        from edgeemo.detectors import Detections

        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if gray is None else gray
        n, _, stats, _ = cv2.connectedComponentsWithStats((gray > 150).astype(np.uint8))
        boxes = np.array([st[:4] for st in stats[1:] if st[2] >= 8 and st[3] >= 8], np.int64).reshape(-1, 4)
        return Detections(boxes, np.ones(len(boxes), np.float32))


def face_frame(n_faces: int = 1, size: int = 100, width: int = 640, height: int = 480, x0: int = 4) -> np.ndarray:
    """A frame with ``n_faces`` bright squares in a grid, each with its own darker pattern."""
    img = np.full((height, width, 3), 60, np.uint8)
    cols = max(1, (width - x0) // (size + 8))
    for k in range(n_faces):
        x, y = x0 + (k % cols) * (size + 8), 4 + (k // cols) * (size + 8)
        img[y:y + size, x:x + size] = 230
        img[y + size // 3:y + 2 * size // 3, x + size // 4:x + 3 * size // 4] = 160 + (k * 13) % 60
    return img


# -- tracking and smoothing -------------------------------------------------------------------------

def test_tracker_keeps_ids_of_moving_boxes_and_drops_lost_ones():
    from edgeemo.demo.track import IouTracker, iou_matrix

    assert iou_matrix([[0, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 5, 5]]).round(3).tolist() == [[0.333, 0.0]]
    tr = IouTracker(iou_threshold=0.3, max_missed=2)
    ids, _ = tr.update([[0, 0, 50, 50], [200, 0, 50, 50]])
    assert ids == [1, 2]
    for step in range(1, 15):  # both move right by 6 px per frame; order of detections swaps
        ids, dropped = tr.update([[200 + 6 * step, 0, 50, 50], [6 * step, 0, 50, 50]])
        assert ids == [2, 1] and dropped == []
    ids, _ = tr.update([[6 * 15, 0, 50, 50], [400, 300, 60, 60]])  # face 2 missing, a new one enters
    assert ids == [1, 3]
    dropped_all = []
    for _ in range(3):
        _, dropped = tr.update([])
        dropped_all += dropped
    assert sorted(dropped_all) == [1, 2, 3] and tr.tracks == []
    assert tr.update([[0, 0, 50, 50]])[0] == [4]  # ids are never reused
    assert tr.started == 4


def test_tracker_survives_a_short_gap():
    from edgeemo.demo.track import IouTracker

    tr = IouTracker(max_missed=5)
    tr.update([[100, 100, 80, 80]])
    tr.update([[108, 100, 80, 80]])
    for _ in range(3):
        tr.update([])  # detector misses the face for three frames while it keeps moving
    assert tr.update([[148, 100, 80, 80]])[0] == [1]


def test_tracker_coasts_between_detections():
    from edgeemo.demo.track import IouTracker

    tr = IouTracker()
    tr.update([[100, 100, 80, 80]])
    ids, boxes = tr.coast()
    assert ids == [1] and boxes.tolist() == [[100, 100, 80, 80]]  # no velocity yet
    assert tr.update([[120, 100, 80, 80]])[0] == [1]  # 20 px in two frames: 10 px per frame
    ids, boxes = tr.coast()
    assert ids == [1] and boxes.tolist() == [[130, 100, 80, 80]]
    assert tr.update([[140, 100, 80, 80]])[0] == [1]
    tr.update([])  # missed in a detection round: not reported while coasting
    assert tr.coast()[0] == []


def test_smoothing_ema_window_and_none():
    from edgeemo.demo.smooth import ProbabilitySmoother

    a, b = np.eye(7, dtype=np.float32)[3], np.eye(7, dtype=np.float32)[0]
    ema = ProbabilitySmoother("ema", alpha=0.25)
    assert np.allclose(ema.update([1], a[None]), a)
    out = ema.update([1, 2], np.stack([b, b]))
    assert np.allclose(out[0], 0.25 * b + 0.75 * a) and np.allclose(out[1], b)  # track 2 starts fresh
    assert int(out[0].argmax()) == 3  # one odd frame does not flip the label
    ema.drop([1])
    assert np.allclose(ema.update([1], b[None]), b)
    win = ProbabilitySmoother("window", window=2)
    win.update([5], a[None])
    win.update([5], b[None])
    assert np.allclose(win.update([5], b[None]), b)
    assert np.allclose(ProbabilitySmoother("none").update([1], a[None]), a)
    for bad in (dict(method="median"), dict(alpha=0.0), dict(window=0)):
        with pytest.raises(ValueError):
            ProbabilitySmoother(**bad)


# -- crops ----------------------------------------------------------------------------------------

def test_crop_geometry_and_crops_at_the_frame_edge():
    from edgeemo.crops import CropGeometry, crop_faces

    g = CropGeometry(scale=1.2, shift=0.1)
    assert g.apply([[100, 100, 50, 50]]).tolist() == [[95, 100, 60, 60]]
    assert g.apply(np.zeros((0, 4))).shape == (0, 4)
    gray = np.tile(np.arange(64, dtype=np.uint8), (48, 1))
    crops = crop_faces(gray, np.array([[-8, -8, 32, 32], [40, 30, 30, 30], [500, 500, 10, 10]]), (48, 48))
    assert crops.shape == (3, 48, 48) and crops.dtype == np.uint8
    assert crops[0, :, 0].tolist() == [0] * 48  # replicated left edge
    assert (crops[2] == 0).all()  # entirely outside: blank rather than an error


# -- sources and their failures -------------------------------------------------------------------

def test_source_errors_say_what_to_do(tmp_path):
    from edgeemo.demo.sources import SourceError, open_source

    with pytest.raises(SourceError, match="no such video file"):
        open_source(tmp_path / "missing.mp4")
    with pytest.raises(SourceError, match=r"camera 97 could not be opened.*--source"):
        open_source("97")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images in this folder"):
        open_source(tmp_path / "empty")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(SourceError, match="could not be opened"):
        open_source(broken)
    t0 = time.perf_counter()
    with pytest.raises(SourceError, match="could not be opened.*check the URL"):
        open_source("rtsp://127.0.0.1:9/nothing-listens-here")
    assert time.perf_counter() - t0 < 20


def test_folder_source_skips_corrupt_images(tmp_path):
    from edgeemo.demo.sources import open_source

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"corrupt")
    cv2.imwrite(str(tmp_path / "c.png"), np.full((20, 30), 7, np.uint8))
    with open_source(tmp_path) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1] and src.skipped == 1
    assert all(f.image.shape == (20, 30, 3) for f in frames)
    assert src.end_reason == "ended"


def test_iterable_source_skips_unusable_frames_and_detects_a_stall():
    from edgeemo.demo.sources import SourceStalled, open_source

    good = np.zeros((10, 10, 3), np.uint8)
    # the input contract of edgeemo.faces: uint8, or floats in [0, 1]; anything else is skipped and counted
    junk = [None, np.zeros((0, 0, 3), np.uint8), np.full((10, 10), 255.0, np.float32), "x",
            np.zeros((10, 10, 5), np.uint8), np.full((10, 10), np.nan, np.float32), np.zeros((10, 10), np.uint16)]
    unit_float = np.full((10, 10), 0.5, np.float32)
    with open_source([good, *junk, np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), unit_float]) as src:
        frames = list(src)
    assert len(frames) == 4 and src.skipped == len(junk)
    assert frames[-1].image.dtype == np.uint8 and int(frames[-1].image[0, 0, 0]) == 128
    assert all(f.image.shape == (10, 10, 3) for f in frames)

    release = threading.Event()

    def stalls():
        yield good
        release.wait(30)  # a camera that stops answering
        yield good

    src = open_source(stalls(), stall_timeout=0.3)
    assert src.read() is not None
    t0 = time.perf_counter()
    with pytest.raises(SourceStalled, match="no frame from .* for 0.3 s"):
        src.read()
    assert time.perf_counter() - t0 < 2
    release.set()
    src.close()


class _FlakyCamera:
    """A live source that delivers a few frames and then fails every read (unplugged)."""

    @staticmethod
    def make(n_good: int):
        from edgeemo.demo.sources import FrameSource

        class Flaky(FrameSource):
            live = True
            name = "camera 0 (simulated)"

            def __init__(self) -> None:
                super().__init__(stall_timeout=5.0)
                self.n = 0

            def _grab(self):
                self.n += 1
                return (True, face_frame(1)) if self.n <= n_good else (False, None)

        return Flaky()


def test_demo_stops_cleanly_when_the_camera_disconnects(tmp_path):
    from edgeemo.demo import run_demo

    res = run_demo(_FlakyCamera.make(5), display="none", classifier=StubClassifier(), detector=SquareDetector(),
                   jsonl=tmp_path / "r.jsonl", log=None)
    assert res.stop_reason == "disconnected" and "disconnected" in res.message
    assert 1 <= res.frames <= 5
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == res.frames


def test_demo_stops_cleanly_when_the_source_stalls():
    from edgeemo.demo import run_demo

    release = threading.Event()

    def stalls():
        for _ in range(3):
            yield face_frame(1)
        release.wait(30)

    t0 = time.perf_counter()
    res = run_demo(stalls(), display="none", classifier=StubClassifier(), detector=SquareDetector(),
                   stall_timeout=0.5, log=None)
    release.set()
    assert res.stop_reason == "stalled" and "--stall-timeout" in res.message
    assert res.frames == 3 and time.perf_counter() - t0 < 10


def test_demo_handles_no_faces_fifty_faces_and_corrupt_frames(tmp_path):
    from edgeemo.demo import run_demo

    clf = StubClassifier()
    frames = [np.full((480, 640, 3), 90, np.uint8), None, face_frame(50, size=56), np.full((480, 640), 300.0),
              face_frame(1), np.zeros((1, 1, 3), np.uint8), np.zeros((3, 3, 3), np.uint8)]
    messages: list[str] = []
    res = run_demo(frames, display="none", classifier=clf, detector=SquareDetector(), jsonl=tmp_path / "r.jsonl",
                   output=tmp_path / "out.avi", detect_every=1, log=messages.append)
    recs = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert res.stop_reason == "ended" and res.frames == len(recs) == 4
    assert res.skipped_frames == 3
    counts = [len(r["faces"]) for r in recs]
    assert counts == [0, 50, 1, 0] and messages == []
    assert max(clf.batches) == counts[1]  # every face of a frame in one batch
    f = recs[2]["faces"][0]
    assert set(f) >= {"id", "box", "crop", "score", "label", "confidence", "probs", "raw_label"}
    assert set(f["probs"]) == set(CLASSES) and abs(sum(f["probs"].values()) - 1) < 1e-3
    assert set(recs[0]["stages_ms"]) >= {"capture", "detect", "preprocess", "infer", "track", "draw"}
    cap = cv2.VideoCapture(str(tmp_path / "out.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()


def test_overlay_draws_boxes_bars_and_stage_times():
    from edgeemo.demo.overlay import annotate
    from edgeemo.demo.pipeline import FaceResult

    p = np.array([0.05, 0.0, 0.05, 0.7, 0.1, 0.05, 0.05], np.float32)
    face = FaceResult(3, (200, 150, 120, 120), (190, 150, 140, 140), 9.0, p, p, "happy", 0.7)
    blank = np.zeros((480, 640, 3), np.uint8)
    img = annotate(blank.copy(), [face], CLASSES, 31.0, {"capture": 1.0, "detect": 5.0})
    assert (img[150, 200:320] != 0).any()  # box
    assert (img[150:230, 325:420] != 0).any()  # bar chart to the right of the box
    assert (img[:30, :200] != 0).any()  # FPS and stage times
    crowd = annotate(blank.copy(), [face] * 50, CLASSES, 5.0, {})
    assert not (crowd[150:230, 325:420] != 0).any()  # no bars for a crowd


def test_a_label_under_the_stats_band_goes_below_its_box():
    from edgeemo.demo.overlay import annotate, class_color, hud_size
    from edgeemo.demo.pipeline import FaceResult

    p = np.array([0.05, 0.0, 0.05, 0.7, 0.1, 0.05, 0.05], np.float32)
    stages = {"capture": 1.0, "detect": 5.0, "preprocess": 0.3, "infer": 3.0}
    blank = np.zeros((480, 640, 3), np.uint8)
    band_w, band_h = hud_size(blank, 30.0, 1, stages)
    top = FaceResult(1, (10, 8, 120, 120), (10, 8, 120, 120), 9.0, p, p, "happy", 0.7)
    img = annotate(blank.copy(), [top], CLASSES, 30.0, stages)
    label_rows = (img[:, 12:60] == class_color("happy")).all(-1).any(1)  # rows holding the label's box
    assert label_rows[8 + 120 + 2: 8 + 120 + 20].any()  # just below the face box
    assert not label_rows[:band_h].any()  # not under the band


def test_overlay_fps_is_the_frame_rate_of_the_summary():
    """Frames alternating fast and slow (detection on every other frame): the overlay's FPS is frames per
    second, the same figure as the summary's, not the mean of per-frame rates."""
    from edgeemo.demo.pipeline import STAGES, DemoSummary, _Loop, _Outputs

    class Pipe:
        classes = CLASSES

        def __init__(self) -> None:
            self.n = 0

        def process(self, image, times):
            self.n += 1
            time.sleep(0.002 if self.n % 2 else 0.03)
            return []

    frames = iter([np.zeros((48, 48, 3), np.uint8)] * 24)

    class Src:
        name, skipped, end_reason, message = "frames", 0, None, None

        def read(self):
            img = next(frames, None)
            return None if img is None else SimpleNamespace(image=img, index=0, time=0.0)

    summary = DemoSummary("frames")
    loop = _Loop(Pipe(), Src(), summary, dict.fromkeys(STAGES, 0.0), _Outputs(), False, lambda m: None)
    assert loop.run(None, None)[0] == "ended"
    overlay_fps, summary_fps = 1.0 / loop.frame_s, summary.frames / summary.seconds
    assert 0.75 < overlay_fps / summary_fps < 1.33, (overlay_fps, summary_fps)



def test_real_time_pacing_is_waiting_not_an_output_stage(tmp_path):
    """A source played at its own frame rate (5 FPS): the demo waits for each frame's time, and that
    wait shows up in the FPS, not as time spent in the output stage (or any other)."""
    from edgeemo.demo import run_demo
    from edgeemo.demo.sources import IterableSource

    interval_ms = 200.0
    src = IterableSource([face_frame(1) for _ in range(6)], fps=1000.0 / interval_ms)
    res = run_demo(src, display="none", realtime=True, classifier=StubClassifier(), detector=SquareDetector(),
                   jsonl=tmp_path / "r.jsonl", output=tmp_path / "out.avi", log=None)
    assert res.stop_reason == "ended" and res.frames == 6
    assert res.seconds >= 5 * interval_ms / 1000  # the sixth frame is due 1.0 s in: the run was paced
    recs = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(recs) == 6
    # the wait (about 200 ms a frame) is in no stage: writing a frame takes a fraction of it
    assert res.stages_ms["output"] < interval_ms / 4, res.stages_ms
    assert max(r["stages_ms"]["output"] for r in recs) < interval_ms / 2, [r["stages_ms"] for r in recs]
    assert sum(res.stages_ms.values()) < interval_ms / 2, res.stages_ms

# -- display ----------------------------------------------------------------------------------------

def test_no_gui_is_reported_with_the_alternatives(monkeypatch):
    from edgeemo.demo import display, run_demo

    monkeypatch.setattr(display, "gui_problem", lambda: "this OpenCV build has no window support")
    with pytest.raises(EdgeemoError, match=r"--web.*--no-display.*opencv-python"):
        run_demo([face_frame(1)], display="window", classifier=StubClassifier(), log=None)


def test_without_a_window_the_demo_serves_its_page_and_says_where(monkeypatch):
    from edgeemo.demo import display, run_demo

    monkeypatch.setattr(display, "gui_problem", lambda: "no graphical session (DISPLAY is not set)")
    opened: list[str] = []
    monkeypatch.setattr(display, "open_browser", opened.append)
    said: list[str] = []
    res = run_demo([face_frame(1)] * 3, display="auto", port=0, classifier=StubClassifier(), detector=SquareDetector(),
                   log=said.append)
    assert res.stop_reason == "ended" and res.frames == 3 and res.url.startswith("http://127.0.0.1:")
    assert any("no window can open here" in line for line in said)
    assert any(res.url in line for line in said) and opened == [res.url]
    said.clear()
    run_demo([face_frame(1)], display="auto", port=0, classifier=StubClassifier(), detector=SquareDetector(),
             log=said.append, browser=False)
    assert len(opened) == 1  # --no-browser


def test_browser_only_where_there_is_a_desktop(monkeypatch):
    from edgeemo.demo import display

    monkeypatch.setattr(display.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not display.desktop_session() and display.open_browser("http://127.0.0.1:1/") is False


# -- web --------------------------------------------------------------------------------------------

def _get(url: str, timeout: float = 5.0) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def test_web_server_serves_page_stats_frames_and_mjpeg():
    from edgeemo.demo.web import BOUNDARY, FrameHub, WebServer

    hub = FrameHub()
    with WebServer(hub, "127.0.0.1", 0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert _get(server.url + "frame.jpg")[0] == 503
        status, ctype, body = _get(server.url)
        assert status == 200 and "text/html" in ctype and b"/stream.mjpg" in body and b"/stats.json" in body
        assert _get(server.url + "nope")[0] == 404
        stop = threading.Event()

        def feed():
            k = 0
            while not stop.is_set():
                hub.publish(np.full((48, 64, 3), (k * 40) % 256, np.uint8), {"frame": k})
                k += 1
                time.sleep(0.02)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        time.sleep(0.1)
        status, ctype, body = _get(server.url + "frame.jpg")
        assert status == 200 and ctype == "image/jpeg" and body[:2] == b"\xff\xd8"
        stats = json.loads(_get(server.url + "stats.json")[2])
        assert stats["frame"] >= 0 and "clients" in stats
        with urllib.request.urlopen(server.url + "stream.mjpg", timeout=5) as r:
            assert r.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            data = b""
            while data.count(b"\xff\xd9") < 3:
                data += r.read1(65536)
            parts = [p for p in data.split(f"--{BOUNDARY}".encode()) if b"\xff\xd8" in p]
            jpegs = [p[p.index(b"\xff\xd8"):p.rindex(b"\xff\xd9") + 2] for p in parts[:3]]
            decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_GRAYSCALE) for j in jpegs]
            assert all(d is not None and d.shape == (48, 64) for d in decoded)
            assert len({int(d.mean()) for d in decoded}) > 1  # the frames change
        stop.set()
        feeder.join()
    with pytest.raises(OSError):  # closed: nothing listens any more
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_web_port_in_use_is_a_clear_error():
    from edgeemo.demo.web import FrameHub, WebServer

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(EdgeemoError, match=r"already in use.*--port"):
            WebServer(FrameHub(), "127.0.0.1", busy.getsockname()[1])


# -- detectors and CLI ------------------------------------------------------------------------------

def test_detector_choices_and_bad_detector_files(tmp_path):
    from edgeemo.detectors import make_detector

    empty = np.full((480, 640, 3), 90, np.uint8)
    for name in ("haar", "yunet"):
        dets = make_detector(name).detect(empty)
        assert dets.boxes.shape == (0, 4) and dets.scores.shape == (0,)
    assert make_detector("yunet").detect(empty).landmarks.shape == (0, 5, 2)
    with pytest.raises(EdgeemoError, match="no such YuNet model file"):
        make_detector("yunet", tmp_path / "yunet.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(EdgeemoError, match="cannot load it as a YuNet model"):
        make_detector("yunet", tmp_path / "bad.onnx")
    with pytest.raises(EdgeemoError, match="unknown face detector"):
        make_detector("mtcnn")


def test_cli_demo_help_and_usage_errors(tmp_path):
    from edgeemo.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["demo", "--help"])
    assert res.exit_code == 0
    for opt in ("--source", "--model", "--backend", "--detector", "--web", "--host", "--port", "--no-display",
                "--output", "--jsonl"):
        assert opt in res.output
    res = runner.invoke(main, ["demo", "--web", "--no-display"])
    assert res.exit_code == 2 and "contradict" in res.output
    res = runner.invoke(main, ["demo", "--gui", "--web"])
    assert res.exit_code == 2 and "contradict" in res.output
    res = runner.invoke(main, ["demo", "--source", str(tmp_path / "none.mp4"), "--no-display"])
    assert res.exit_code == 2 and "no such video file" in res.output
    res = runner.invoke(main, ["demo", "--source", "96", "--no-display"])
    assert res.exit_code == 2 and "camera 96 could not be opened" in res.output


def test_no_display_without_an_output_says_that_nothing_is_written(tmp_path):
    """--no-display alone shows and writes nothing: the run says so at the start (and still runs: its
    summary is the measurement); with --jsonl it writes the file and needs no such note."""
    from edgeemo.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), face_frame(1))
    args = ["demo", "--source", str(folder), "--model", "fast", "--precision", "fp32", "--no-display",
            "--max-frames", "2"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "--no-display without --output or --jsonl shows and writes nothing" in res.output
    assert "processed 2 frames" in res.output and "wrote" not in res.output
    res = CliRunner().invoke(main, [*args, "--jsonl", str(tmp_path / "r.jsonl")])
    assert res.exit_code == 0, res.output
    assert "writes nothing" not in res.output and f"wrote {tmp_path / 'r.jsonl'}" in res.output
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
