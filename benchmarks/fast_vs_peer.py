"""edgeemo's models beside the `fer` package's mini-Xception: accuracy on the same faces and latency in one
process, one thread, batch 1, timed interleaved (medians).

    python benchmarks/fast_vs_peer.py --data ../shared/data/fer2013.npz \
        --peer ../shared/models/peers/fer_mini_xception.onnx MODEL.onnx [MODEL.onnx ...]

The peer network is wrapped once into an edgeemo model file (its preprocessing from its README: gray,
64×64 linear resize, (x/255 − 0.5) × 2) so that every row runs through the same classifier, the same
onnxruntime settings and the same timer. Writes runs/fast_vs_peer.{json,md} unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx

from edgeemo.classifier import EmotionClassifier
from edgeemo.data import load_dataset
from edgeemo.evaluate import evaluate
from edgeemo.export.onnx_export import set_metadata
from edgeemo.hardware import cpu_info, load_average
from edgeemo.modelmeta import ModelMeta
from edgeemo.preprocess import Preprocess
from edgeemo.timing import time_interleaved

PEER_PRE = Preprocess(size=(64, 64), channels=1, mean=(0.5,), std=(0.5,), interpolation="linear")


def wrap_peer(src: Path, dest: Path) -> Path:
    """A copy of the peer ONNX carrying edgeemo metadata (its outputs are probabilities; argmax is unchanged)."""
    proto = onnx.load(str(src))
    set_metadata(proto, ModelMeta(model="fer-mini-xception", preprocess=PEER_PRE,
                                  info={"source": src.name, "outputs": "softmax probabilities"}))
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(dest))
    return dest


def accuracy_rows(paths: dict[str, Path], data: Path) -> dict[str, dict]:
    out = {}
    for name, path in paths.items():
        out[name] = {}
        for labels in ("fer2013", "ferplus"):
            r = evaluate(path, data, labels=labels, backend="onnxruntime", threads=1)
            out[name][labels] = {k: r[k] for k in ("n", "accuracy", "balanced_accuracy", "macro_f1")}
    return out


def latency_rows(paths: dict[str, Path], data: Path, seconds: float) -> dict[str, dict]:
    face = load_dataset(data).get_split("PublicTest").images[:1]
    fns = {}
    for name, path in paths.items():
        clf = EmotionClassifier(path, backend="onnxruntime", threads=1)
        x = clf.preprocess(face)
        fns[name] = (lambda c=clf, x=x: c.backend.predict(x))
    return time_interleaved(fns, warmup=50, min_runs=1000, min_seconds=seconds, max_seconds=10 * seconds * len(fns))


def markdown(res: dict) -> str:
    peer = res["latency_ms"]["fer-mini-xception"]["p50"]
    lines = [f"CPU: {res['cpu']}; onnxruntime, 1 thread, batch 1, interleaved; PrivateTest; "
             f"load average {res['load_average_before']} before timing, {res['load_average_after']} after.", "",
             "| model | FER acc | FER+ acc | FER+ macro-F1 | p50 ms | × peer |", "|---|---|---|---|---|---|"]
    for name, acc in res["accuracy"].items():
        p50 = res["latency_ms"][name]["p50"]
        lines.append(f"| {name} | {acc['fer2013']['accuracy']:.4f} | {acc['ferplus']['accuracy']:.4f} | "
                     f"{acc['ferplus']['macro_f1']:.4f} | {p50:.3f} | {p50 / peer:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="edgeemo .onnx files")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--peer", type=Path, required=True, help="fer_mini_xception.onnx")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per model, at least")
    ap.add_argument("--out", type=Path, default=Path("runs/fast_vs_peer"))
    args = ap.parse_args()
    paths = {"fer-mini-xception": wrap_peer(args.peer, args.out.parent / "fer_mini_xception.edgeemo.onnx")}
    paths.update({p.name: p for p in args.models})
    res = {"cpu": cpu_info().get("model", "?"), "cpu_flags": cpu_info().get("flags"),
           "accuracy": accuracy_rows(paths, args.data), "load_average_before": load_average()}
    res["latency_ms"] = latency_rows(paths, args.data, args.seconds)
    res["load_average_after"] = load_average()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    args.out.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
