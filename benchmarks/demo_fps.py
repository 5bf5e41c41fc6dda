"""Live-demo throughput at 640×480, stage by stage, for each face detector, with 1 and 4 faces.

    python benchmarks/demo_fps.py [--model default|PATH] [--data ../shared/data/fer2013.npz] [--faces 1,4]
                                  [--detectors yunet,haar] [--detect-every 1,2]

Real FER2013 PublicTest faces (loaded at run time, never stored) move over a generated background;
the frames are written to a temporary MP4 and played through the whole demo pipeline
(decode → detection → aligned crop/preprocess → one batched inference → tracking and smoothing →
overlay drawing) with ``--no-display``, as fast as it goes, once per detector × face count ×
detection interval, all in one run so the detectors are compared under the same machine load.
A short warm-up run comes first. The JPEG encoding that ``--web`` adds while a browser watches is
timed separately.

Writes runs/demo_fps.{json,md} (``--out``); the published copy is benchmarks/results/demo_fps.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from edgeemo.classifier import EmotionClassifier
from edgeemo.demo.pipeline import STAGES, run_demo
from edgeemo.demo.synth import background
from edgeemo.detectors import make_detector
from edgeemo.hardware import cpu_info, load_average

W, H = 640, 480
BG_SEED = 1  # a background on which the cascade finds no face


def load_faces(npz: Path, n: int, detectors: list, size: int = 120, seed: int = 0) -> np.ndarray:
    """``n`` PublicTest faces that every detector finds, so that n faces means n classified faces."""
    with np.load(npz) as d:
        ok = (d["split_id"] == 1) & (d["pixel_source"] == 0) & (d["label_flag"] == 0)
        idx = np.random.default_rng(seed).choice(np.flatnonzero(ok), 20 * n, replace=False)
        candidates = d["images"][np.sort(idx)]
    bg, keep = background(W, H, np.random.default_rng(BG_SEED)), []
    for face in candidates:
        img = bg.copy()
        img[100:100 + size, 200:200 + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)[..., None]
        if all(len(det.detect(img)) == 1 for det in detectors):
            keep.append(face)
            if len(keep) == n:
                break
    return np.stack(keep)


def write_clip(path: Path, faces: np.ndarray, n_frames: int, size: int = 120) -> None:
    """``len(faces)`` faces bouncing gently in a 2×2 grid of cells, always fully in view."""
    bg = background(W, H, np.random.default_rng(BG_SEED))
    tiles = [cv2.cvtColor(cv2.resize(f, (size, size), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
             for f in faces]
    cells = [(W // 4, H // 4), (3 * W // 4, H // 4), (W // 4, 3 * H // 4), (3 * W // 4, 3 * H // 4)]
    if len(faces) == 1:
        cells = [(W // 2, H // 2)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (W, H))
    for t in range(n_frames):
        img = bg.copy()
        for k, (tile, (cx, cy)) in enumerate(zip(tiles, cells)):
            x = int(cx - size / 2 + 30 * np.sin(2 * np.pi * t / 90 + k))
            y = int(cy - size / 2 + 12 * np.cos(2 * np.pi * t / 60 + k))
            img[y:y + size, x:x + size] = tile
        writer.write(img)
    writer.release()


def jpeg_ms(n: int = 50) -> float:
    img = background(W, H, np.random.default_rng(1))
    cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    t0 = time.perf_counter()
    for _ in range(n):
        cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return 1000 * (time.perf_counter() - t0) / n


def machine() -> dict:
    import onnxruntime

    cpu = cpu_info()
    return {"cpu": cpu["model"], "cpu_flags": cpu["flags"], "logical_cores": os.cpu_count(),
            "python": platform.python_version(), "onnxruntime": onnxruntime.__version__, "opencv": cv2.__version__,
            "load_average_before": load_average()}


def measure(clf, det, clip: Path, n: int, every: int, warmup: int) -> dict:
    """One configuration: a warm-up run, then the whole clip; FPS, CPU time and mean stage times per frame."""
    run_demo(clip, display="none", classifier=clf, detector=det, max_frames=warmup, detect_every=every, log=None)
    cpu0 = time.process_time()
    res = run_demo(clip, display="none", classifier=clf, detector=det, detect_every=every, log=None)
    cpu_ms = 1000 * (time.process_time() - cpu0) / max(res.frames, 1)
    rec = {"detector": det.name, "faces": n, "detect_every": every, "frames": res.frames, "fps": round(res.fps, 1),
           "pipeline_fps": round(res.pipeline_fps, 1),
           "cpu_ms_per_frame": round(cpu_ms, 2), "fps_if_cpu_bound": round(1000 / cpu_ms, 1),
           "detected_per_frame": round(res.face_detections / max(res.frames, 1), 2),
           "stages_ms": {k: round(res.stages_ms[k], 2) for k in STAGES}}
    print(f"{det.name}, {n} face(s), detect every {every}: {rec['fps']} FPS end to end "
          f"({rec['detected_per_frame']} detected per frame, {rec['cpu_ms_per_frame']} ms CPU per frame); "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in rec["stages_ms"].items()), flush=True)
    return rec


def speedup(records: list[dict]) -> dict | None:
    """FPS of the first detector over each other one at 1 face with detection on every frame, same run."""
    one = {r["detector"]: r["fps"] for r in records if r["faces"] == 1 and r["detect_every"] == 1}
    names = list(one)
    if len(names) < 2:
        return None
    return {f"{names[0]}/{other}": round(one[names[0]] / one[other], 2) for other in names[1:] if one[other] > 0}


def write_markdown(path: Path, meta: dict, records: list[dict]) -> None:
    cols = list(STAGES)
    lines = [
        f"Command: `{meta['command']}` · {meta['date']} · model `{Path(meta['model']).name}` "
        f"({meta['model_name']}, {meta['precision']}, {meta['provider']})",
        f"Machine: {meta['cpu']}, {meta['logical_cores']} logical cores, load average before "
        f"{meta['load_average_before'][0]} / after {meta['load_average_after'][0]}; "
        f"onnxruntime {meta['onnxruntime']}, OpenCV {meta['opencv']}; 640×480, detection at "
        f"{meta['detect_width']} px wide",
        "",
        "| detector | faces | detect every | FPS (end to end) | " + " | ".join(f"{c} ms" for c in cols)
        + " | CPU ms/frame (all threads) |",
        "|---|---|---|---|" + "---|" * len(cols) + "---|",
    ]
    for r in records:
        lines.append(f"| {r['detector']} | {r['faces']} | {r['detect_every']} | {r['fps']:.1f} | "
                     + " | ".join(f"{r['stages_ms'][c]:.2f}" for c in cols)
                     + f" | {r['cpu_ms_per_frame']:.1f} |")
    lines += ["", "Stage times are wall-clock means per frame; capture is the wait for the decoder thread. "
              "CPU ms/frame is the process's CPU time (decoder, detector and runtime threads included) per frame."]
    if meta.get("speedup"):
        lines.append("FPS ratio at 1 face, detection on every frame, same run: "
                     + ", ".join(f"{k} {v:.2f}×" for k, v in meta["speedup"].items()) + ".")
    lines.append(f"`--web` adds {meta['web_jpeg_ms']:.1f} ms per frame for JPEG encoding while a browser is watching.")
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="'default' or a model file")
    default_data = Path(os.environ.get("EDGEEMO_DATA", "../shared/data")) / "fer2013.npz"
    ap.add_argument("--data", default=str(default_data), help="fer2013.npz (faces for the clip)")
    ap.add_argument("--faces", default="1,4", help="comma-separated face counts (1..4)")
    ap.add_argument("--detectors", default="yunet,haar", help="comma-separated detectors, compared in one run")
    ap.add_argument("--detect-width", type=int, default=320, help="detection on frames downscaled to this width")
    ap.add_argument("--frames", type=int, default=300, help="measured frames per configuration")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None, help="inference threads [default: onnxruntime's]")
    ap.add_argument("--detect-every", default="1,2", help="comma-separated --detect-every values")
    ap.add_argument("--out", default="runs/demo_fps",
                    help="output stem [default: runs/demo_fps; the published copy is benchmarks/results/demo_fps]")
    args = ap.parse_args()

    clf = EmotionClassifier(args.model, threads=args.threads)
    detectors = [make_detector(name, detect_width=args.detect_width) for name in args.detectors.split(",")]
    counts = [int(c) for c in args.faces.split(",")]
    faces = load_faces(Path(args.data), max(counts), detectors)
    info = machine()
    records = []
    with tempfile.TemporaryDirectory(prefix="edgeemo-demo-fps-") as tmp:
        for n, every in [(n, e) for n in counts for e in (int(v) for v in args.detect_every.split(","))]:
            clip = Path(tmp) / f"faces{n}.mp4"
            write_clip(clip, faces[:n], args.frames)
            for det in detectors:  # detectors back to back on each configuration: the same machine load
                records.append(measure(clf, det, clip, n, every, args.warmup))
    info["load_average_after"] = load_average()
    meta = {"date": date.today().isoformat(), "command": "python " + " ".join(sys.argv), "model": str(clf.path),
            "model_name": clf.meta.model, "precision": clf.precision_choice.precision,
            "precision_choice": clf.precision_choice.to_dict(), "backend": clf.backend.name,
            "provider": clf.backend.provider, "resolution": f"{W}x{H}", "detect_width": args.detect_width,
            "detectors": [d.describe() for d in detectors], "web_jpeg_ms": round(jpeg_ms(), 2),
            "speedup": speedup(records), **info}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"metadata": meta, "records": records}, indent=2) + "\n")
    write_markdown(out.with_suffix(".md"), meta, records)
    print(f"speedup: {meta['speedup']}; wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
