"""Quantized versus full precision: every exported format × precision against the FP32
reference on the same faces — accuracy and its change (95% CI, McNemar p), top-1 agreement,
probability drift, size and single-face latency timed side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .backends import open_backend
from .classifier import softmax
from .data import load_dataset
from .errors import EdgeemoError
from .export.pipeline import Artifact, artifact_size_mb, export_model
from .labels import label_set_name
from .metrics import classification_metrics, fer7_predictions
from .stats import paired_accuracy_delta
from .timing import time_interleaved


def _logits(backend, x: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate([backend.predict(x[i : i + batch]) for i in range(0, len(x), batch)])


def compare(
    model_ref: str | Path,
    data: str | Path,
    *,
    formats: tuple[str, ...] = ("onnx", "openvino"),
    precisions: tuple[str, ...] = ("fp32", "fp16", "int8", "bf16"),
    split: str = "PrivateTest",
    labels: str = "fer2013",
    limit: int | None = None,
    out_dir: str | Path | None = None,
    threads: int = 1,
    min_runs: int = 200,
    min_seconds: float = 2.0,
    artifacts: list[Artifact] | None = None,
    log=print,
) -> dict:
    """Export (unless ``artifacts`` are given) and compare each artifact with the reference.

    The reference is torch FP32 on the checkpoint when there is one (and torch is
    installed), else the FP32 ONNX model in onnxruntime. ``labels``: ``fer2013`` or ``ferplus``
    (the FER+ majority; faces without one left out). INT8 is still calibrated and chosen on the
    data's own (FER2013) labels.
    """
    from .evaluate import check_limit

    check_limit(limit)
    if artifacts is None:
        artifacts = export_model(model_ref, formats, precisions, out_dir=out_dir, data=data, log=log)
    fs = load_dataset(data, labels=labels).get_split(split)
    if limit is not None:
        fs = fs.subset(np.arange(len(fs)) < limit)
    y = fs.labels

    from .model_files import resolve_model

    src = resolve_model(model_ref)
    fp32_onnx = next((a.path for a in artifacts if a.format == "onnx" and a.precision == "fp32" and a.path), None)
    ref_backend = None
    if src.suffix in (".pt", ".pth"):
        try:
            ref_backend = open_backend(src, "torch", threads=threads)
        except EdgeemoError as exc:
            log(f"torch reference unavailable ({exc}); using ONNX FP32 in onnxruntime")
    if ref_backend is None:
        ref_path = fp32_onnx or src
        ref_backend = open_backend(ref_path, "onnxruntime", threads=threads)
    ref_name = f"{ref_backend.name} fp32"
    x = ref_backend.meta.preprocess(fs.images)
    ref_logits = _logits(ref_backend, x)
    ref_pred = fer7_predictions(ref_logits, ref_backend.meta.classes)
    ref_prob = softmax(ref_logits)

    rows: list[tuple[str, object, dict]] = [("reference", ref_backend, {
        "model": ref_backend.meta.model, "backend": ref_backend.name, "format": "torch" if ref_backend.name == "torch"
        else "onnx", "precision": "fp32", "status": "ok", "reference": True,
        "size_mb": round(artifact_size_mb(ref_backend.path), 3), "path": str(ref_backend.path),
        "execution_precision": ref_backend.execution_precision,
    })]
    backend_for = {"onnx": "onnxruntime", "openvino": "openvino", "tensorrt": "tensorrt"}
    for art in artifacts:
        rec = {"model": ref_backend.meta.model, "backend": backend_for[art.format], "format": art.format,
               "precision": art.precision, "status": art.status, "reason": art.reason,
               "size_mb": art.size_mb, "path": art.path, "quantization": art.quantization}
        if art.status != "ok":
            rows.append((f"{art.format}/{art.precision}", None, rec))
            continue
        try:
            be = open_backend(art.path, backend_for[art.format], threads=threads)
            rec["execution_precision"] = be.execution_precision
            rows.append((f"{art.format}/{art.precision}", be, rec))
        except EdgeemoError as exc:
            rec.update(status="failed", reason=str(exc))
            rows.append((f"{art.format}/{art.precision}", None, rec))

    for _, be, rec in rows:
        if be is None:
            continue
        logits = ref_logits if rec.get("reference") else _logits(be, x)
        pred = fer7_predictions(logits, be.meta.classes)
        m = classification_metrics(y, pred)
        prob_diff = np.abs(softmax(logits) - ref_prob).max(axis=1)
        rec.update({
            "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"],
            "agreement_top1": float((pred == ref_pred).mean()),
            "prob_diff_mean": float(prob_diff.mean()), "prob_diff_max": float(prob_diff.max()),
            **paired_accuracy_delta(y, ref_pred, pred),
        })

    one = x[:1]
    timers = {name: (lambda be=be: be.predict(one)) for name, be, _ in rows if be is not None}
    log(f"timing single-face latency of {len(timers)} models, interleaved, {threads} thread(s)...")
    lat = time_interleaved(timers, min_runs=min_runs, min_seconds=min_seconds)
    for name, be, rec in rows:
        if be is not None:
            rec["latency_ms"] = lat[name]
            be.close()
    records = [rec for _, _, rec in rows]
    base = records[0]["latency_ms"]["p50"]
    fp32_by_backend = {r["backend"]: r["latency_ms"]["p50"] for r in records
                       if r.get("precision") == "fp32" and r.get("latency_ms") and not r.get("reference")}
    for r in records:
        if r.get("latency_ms"):
            r["latency_vs_reference"] = r["latency_ms"]["p50"] / base
            if r["backend"] in fp32_by_backend:
                r["latency_vs_fp32_same_backend"] = r["latency_ms"]["p50"] / fp32_by_backend[r["backend"]]
    return {
        "reference": ref_name, "data": fs.source, "split": split, "labels": labels,
        "labels_description": label_set_name(labels), "n": int(len(y)), "threads": threads,
        "records": records,
    }


def to_markdown(result: dict, command: str | None = None) -> str:
    labels = label_set_name(result.get("labels", "fer2013"))
    lines = [f"Reference: **{result['reference']}** · data `{Path(result['data']).name}` {result['split']}, {labels} "
             f"(n={result['n']}) · single-face latency on {result['threads']} thread(s), timed interleaved", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += ["| format | backend | precision (runs in) | accuracy | Δ acc (95% CI) | McNemar p | top-1 agree | "
              "mean / max Δprob | size MB | p50 ms | p90 ms | ×FP32 same backend |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["records"]:
        if r["status"] != "ok" or "accuracy" not in r:
            lines.append(f"| {r['format']} | {r['backend']} | {r['precision']} | {r['status']}: "
                         f"{(r.get('reason') or '')[:80]} |||||||||")
            continue
        lo, hi = r["accuracy_delta_ci95"]
        lat = r["latency_ms"]
        lines.append(
            f"| {r['format']}{' (ref)' if r.get('reference') else ''} | {r['backend']} | {r['precision']} "
            f"({r.get('execution_precision', '?')}) | "
            f"{r['accuracy']:.4f} | {100 * r['accuracy_delta']:+.2f} pt ({100 * lo:+.2f}, {100 * hi:+.2f}) | "
            f"{r['mcnemar_p']:.3g} | {100 * r['agreement_top1']:.2f}% | {r['prob_diff_mean']:.4f} / "
            f"{r['prob_diff_max']:.4f} | {r['size_mb']:.2f} | {lat['p50']:.3f} | {lat['p90']:.3f} | "
            f"{r.get('latency_vs_fp32_same_backend', float('nan')):.2f} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, json_path: str | Path | None, md_path: str | Path | None, command: str | None) -> None:
    from .outputs import write_text

    if json_path:
        write_text(json_path, json.dumps({**result, "command": command}, indent=2) + "\n")
    if md_path:
        write_text(md_path, to_markdown(result, command))
