"""The paper's comparison, reproduced: each trained model on FER2013 PrivateTest (in-dataset)
and on muxspace (cross-dataset, contempt excluded), with accuracy and macro P/R/F1.

    python benchmarks/paper_models.py --data-dir ../shared/data [--models edgenet,cnn1,...]

Writes runs/paper_models.{json,md} (``--out``; the published copy is benchmarks/results/paper_models.*).
Models without a trained checkpoint are listed as such, never filled in.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date
from pathlib import Path

from edgeemo.backends import open_backend
from edgeemo.errors import ModelFileError
from edgeemo.evaluate import evaluate
from edgeemo.hardware import cpu_info
from edgeemo.model_files import resolve_model
from edgeemo.version import code_version


def model_ref(name: str) -> str:
    return "default" if name == "edgenet-onnx" else name


def training_summary(path: Path) -> dict:
    """How the checkpoint was trained, from its own metadata: planned epochs, best epoch, optimizer,
    peak learning rate, PublicTest accuracy at selection, parameters and multiply-adds."""
    meta = open_backend(path).meta.info  # a checkpoint's or an exported file's own metadata
    cfg = meta.get("config") or {}
    return {"epochs_planned": cfg.get("epochs"), "best_epoch": None if meta.get("epoch") is None else meta["epoch"] + 1,
            "optimizer": cfg.get("optimizer"), "lr": cfg.get("lr"), "batch_size": cfg.get("batch_size"),
            "publictest_accuracy": (meta.get("metrics") or {}).get("val_accuracy"),
            "params": meta.get("params"), "macs": meta.get("macs"),
            "weights_dtype": meta.get("weights_dtype", "float32"),
            "init": cfg.get("init"),
            "averaged_epochs": [a["epoch"] + 1 for a in meta.get("averaged_from", []) if a.get("epoch") is not None]}


def _schedule(t: dict) -> str:
    if not t.get("epochs_planned"):
        return ""
    start = f" from {Path(t['init']).name}" if t.get("init") else ""
    picked = (f"weight average of ep. {', '.join(map(str, t['averaged_epochs']))}" if t.get("averaged_epochs")
              else f"best ep. {t['best_epoch']}")
    return (f"{t['epochs_planned']} ep. {t['optimizer']} lr {t['lr']:g}{start}, {picked}, "
            f"PublicTest {t['publictest_accuracy']:.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--models", default="edgenet,cnn1,cnn2,resnet50,vgg16")
    ap.add_argument("--out", default="runs/paper_models",
                    help="output stem [default: runs/paper_models; published: benchmarks/results/paper_models]")
    args = ap.parse_args()
    data = Path(args.data_dir)
    rows = []
    for name in args.models.split(","):
        try:
            path = resolve_model(model_ref(name))
        except ModelFileError as exc:
            rows.append({"model": name, "status": "not trained", "reason": str(exc)})
            print(f"{name}: not trained ({exc})", file=sys.stderr)
            continue
        fer = evaluate(path, data / "fer2013.npz", split="PrivateTest")
        mux = evaluate(path, data / "muxspace48.npz", split=None)
        row = {"model": name, "status": "ok", "file": str(path), "training": training_summary(path)}
        for tag, r in (("fer2013_private", fer), ("muxspace", mux)):
            row[tag] = {k: r[k] for k in ("n", "accuracy", "balanced_accuracy", "macro_precision", "macro_recall",
                                          "macro_f1", "per_class", "confusion")}
        rows.append(row)
        print(f"{name}: FER2013 PrivateTest acc {fer['accuracy']:.4f}, muxspace acc {mux['accuracy']:.4f}")
    meta = {"date": date.today().isoformat(), "edgeemo": code_version(), "host": platform.node(),
            "cpu": cpu_info()["model"], "command": "python " + " ".join(sys.argv)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"metadata": meta, "records": rows}, indent=2) + "\n")
    lines = [f"Command: `{meta['command']}` · edgeemo {meta['edgeemo']} · {meta['date']}", "",
             "| model | FER2013 PrivateTest acc | macro P | macro R | macro F1 | muxspace acc | bal. acc | macro F1 "
             "| training (selected on PublicTest) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['model']} | {r['status']} ||||||||")
            continue
        f, m = r["fer2013_private"], r["muxspace"]
        cells = [f["accuracy"], f["macro_precision"], f["macro_recall"], f["macro_f1"],
                 m["accuracy"], m["balanced_accuracy"], m["macro_f1"]]
        lines.append(f"| {r['model']} | " + " | ".join(f"{v:.4f}" for v in cells) + f" | {_schedule(r['training'])} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
