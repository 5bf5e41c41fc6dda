"""A training step of ``edgeemo train`` in FP32 and with ``--bf16``, timed side by side in one process.

    python benchmarks/train_step_bf16.py --data ../shared/data/fer2013.npz --model edgenet \
        --init runs/default_raw.pt --teacher runs/default_raw.pt --teacher benchmarks/weights/widenet.pt \
        --teacher-flip --threads 2 --json runs/train_step_bf16.json

The step is the trainer's own (teachers, student forward and backward, optimizer step) on one augmented
batch of real Training faces; the two precisions alternate step by step (interleaved medians), so machine
noise hits both alike. Needs a CPU that computes bfloat16 natively (``--bf16`` is refused elsewhere).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from edgeemo.data import load_dataset
from edgeemo.errors import EdgeemoError
from edgeemo.hardware import cpu_info
from edgeemo.models import build_model, get_spec
from edgeemo.timing import time_interleaved
from edgeemo.training.augment import PRESETS, augment
from edgeemo.training.checkpoint import load_init_weights
from edgeemo.training.trainer import (
    Teacher,
    batch_targets,
    fit_size,
    make_config,
    make_optimizer,
    split_train_val,
    to_tensor,
    train_step,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="edgenet")
    ap.add_argument("--init", help="the student's starting weights, as train --init")
    ap.add_argument("--teacher", action="append", default=[], help="as train --teacher (repeat for an ensemble)")
    ap.add_argument("--teacher-flip", action="store_true")
    ap.add_argument("--augment", default="photos", choices=sorted(PRESETS))
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per precision")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    common = {"labels": "ferplus", "soft_labels": 1.0, "teacher": tuple(args.teacher), "batch_size": args.batch_size,
              "teacher_flip": args.teacher_flip or None, "augment": PRESETS[args.augment]}
    fp32 = make_config(args.model, **common)
    try:
        bf16 = make_config(args.model, bf16=True, **common)
    except EdgeemoError as e:  # a CPU without native bfloat16: one sentence, no traceback
        raise SystemExit(f"train_step_bf16: {e}") from None
    student = build_model(args.model).to(memory_format=torch.channels_last)
    if args.init:
        load_init_weights(student, args.init)
    pre = get_spec(args.model).preprocess
    train_set, _, _ = split_train_val(load_dataset(args.data, labels="ferplus"), fp32.seed)
    fit_size(train_set, pre)
    idx = torch.arange(args.batch_size).numpy()
    xb = augment(to_tensor(train_set.images[idx], pre), fp32.augment, torch.Generator().manual_seed(0))
    xb = xb.contiguous(memory_format=torch.channels_last)
    targets = batch_targets(train_set, idx, fp32)
    teacher = Teacher(fp32.teacher, pre, fp32.temperature, fp32.teacher_flip) if fp32.teacher else None
    opt = make_optimizer(student, fp32)
    steps = {name: (lambda c=cfg: train_step(student, opt, teacher, xb, targets, c))
             for name, cfg in (("fp32", fp32), ("bf16", bf16))}
    stats = time_interleaved(steps, warmup=2, min_runs=args.steps, min_seconds=0.0, chunk=1, max_seconds=3600)
    res = {"machine": cpu_info(), "threads": args.threads, "batch_size": args.batch_size, "model": args.model,
           "teachers": list(fp32.teacher), "teacher_flip": fp32.teacher_flip, "augment": args.augment,
           "step_ms": stats, "bf16_over_fp32_median": stats["bf16"]["p50"] / stats["fp32"]["p50"]}
    print(f"median step: FP32 {stats['fp32']['p50']:.0f} ms, BF16 {stats['bf16']['p50']:.0f} ms "
          f"({res['bf16_over_fp32_median']:.2f}x) over {stats['fp32']['n']} steps each")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
