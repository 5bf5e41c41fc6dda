"""How much a distillation teacher can still teach: the selection split's accuracy of each checkpoint and of
their ensemble exactly as ``edgeemo train --teacher A --teacher B ... [--teacher-flip]`` builds it (the mean
of the members' temperature-softened probabilities; with --flip over each face and its mirror image too).
A student already above its teachers' ensemble has little left to learn from them.

    python benchmarks/teacher_ensemble.py --data ../shared/data/fer2013.npz --labels ferplus \
        runs/ferplus/best.pt runs/ferplus_ban/best.pt ... --json runs/teacher_ensemble.json

Scores PublicTest (the split models are selected on), never PrivateTest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from edgeemo.data import load_dataset
from edgeemo.labels import LABEL_SETS
from edgeemo.scoring import score
from edgeemo.training.checkpoint import model_from_checkpoint
from edgeemo.training.trainer import Teacher, fit_size, split_train_val, to_tensor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="edgeemo training checkpoints (.pt) of one model")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--labels", default="ferplus", choices=sorted(LABEL_SETS))
    ap.add_argument("--temperature", type=float, default=2.0, help="as given to edgeemo train")
    ap.add_argument("--flip", action="store_true", help="as --teacher-flip: each member also sees the mirrored face")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, val, val_name = split_train_val(load_dataset(args.data, labels=args.labels), 0)
    pre = model_from_checkpoint(args.checkpoints[0])[1].preprocess  # every member must share it (load_teacher)
    fit_size(val, pre)

    def metrics(teacher: Teacher) -> dict:
        return score(lambda xb: teacher(xb).numpy(), val.images, val.labels,
                     prepare=lambda b: to_tensor(b, pre)).metrics

    rows = {path: metrics(Teacher((path,), pre, 1.0, args.flip)) for path in args.checkpoints}
    rows["ensemble"] = metrics(Teacher(tuple(args.checkpoints), pre, args.temperature, args.flip))
    res = {"split": val_name, "labels": args.labels, "temperature": args.temperature, "flip": args.flip,
           "n": len(val.labels),
           "accuracy": {k: round(v["accuracy"], 4) for k, v in rows.items()},
           "macro_f1": {k: round(v["macro_f1"], 4) for k, v in rows.items()}}
    for k in rows:
        print(f"{k}: {val_name} ({args.labels}) accuracy {res['accuracy'][k]:.4f}  macro-F1 {res['macro_f1'][k]:.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
