"""Copy trained checkpoints into benchmarks/weights/, where ``edgeemo eval --model NAME`` and
``edgeemo bench`` find them on a fresh clone.

    python benchmarks/publish_weights.py cnn1 cnn2 resnet50 vgg16 [--runs runs] [--half-above-mb 20]
    python benchmarks/publish_weights.py edgenet=runs/edgenet_avg/last3.pt   # any checkpoint file

Only the weights and the metadata are kept (no optimizer state). Checkpoints larger than
``--half-above-mb`` store their floating-point tensors as float16 to halve the file; they load
back into float32 models unchanged, and every published figure is measured from these files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeemo.training.checkpoint import load_checkpoint, save_checkpoint

WEIGHTS = Path(__file__).resolve().parent / "weights"


def publish(src: Path, dst: Path, half_above_mb: float) -> Path:
    ck = load_checkpoint(src)
    state = ck["state_dict"]
    size_mb = sum(t.numel() * t.element_size() for t in state.values()) / 1e6
    meta = dict(ck["meta"])
    if size_mb > half_above_mb:
        state = {k: t.half() if t.is_floating_point() else t for k, t in state.items()}
        meta["weights_dtype"] = "float16"
    meta["published_from"] = str(src)
    save_checkpoint(dst, state, meta)
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="NAME (publishes RUNS/NAME/best.pt) or NAME=CHECKPOINT")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--half-above-mb", type=float, default=20.0)
    args = ap.parse_args()
    for item in args.models:
        name, _, src = item.partition("=")
        src_path = Path(src) if src else Path(args.runs) / name / "best.pt"
        dst = publish(src_path, WEIGHTS / f"{name}.pt", args.half_above_mb)
        print(f"{name}: {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
