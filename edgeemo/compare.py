"""Quantized versus full precision: every exported format × precision against the FP32
reference on the same faces — accuracy and its change (95% CI, McNemar p), top-1 agreement,
probability drift, size and single-face latency timed side by side."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import Backend, open_backend
from .classifier import softmax
from .errors import EdgeemoError
from .export.pipeline import Artifact, artifact_size_mb, export_model
from .formats import PRECISIONS, runtime_for_format
from .labels import label_set_name
from .scoring import Scored, batched_logits, score_logits
from .selection import select_faces
from .stats import paired_accuracy_delta
from .timing import time_interleaved


@dataclass
class _Row:
    name: str
    backend: Backend | None  # None: the artifact could not be built or opened
    record: dict


def open_reference(model_ref: str | Path, artifacts: list[Artifact], threads: int, log=print) -> Backend:
    """torch FP32 on the checkpoint when there is one (and torch is installed), else the FP32 ONNX
    model in onnxruntime."""
    from .model_files import resolve_model

    src = resolve_model(model_ref)
    if src.suffix in (".pt", ".pth"):
        try:
            return open_backend(src, "torch", threads=threads)
        except EdgeemoError as exc:
            log(f"torch reference unavailable ({exc}); using ONNX FP32 in onnxruntime")
    fp32_onnx = next((a.path for a in artifacts if a.format == "onnx" and a.precision == "fp32" and a.path), None)
    return open_backend(fp32_onnx or src, "onnxruntime", threads=threads)


def _reference_row(ref: Backend) -> _Row:
    return _Row("reference", ref, {
        "model": ref.meta.model, "backend": ref.name, "format": "torch" if ref.name == "torch" else "onnx",
        "precision": "fp32", "status": "ok", "reference": True,
        "size_mb": round(artifact_size_mb(ref.path), 3), "path": str(ref.path),
        "execution_precision": ref.execution_precision,
    })


def _artifact_row(art: Artifact, model: str, threads: int) -> _Row:
    backend = runtime_for_format(art.format)
    rec = {"model": model, "backend": backend, "format": art.format, "precision": art.precision,
           "status": art.status, "reason": art.reason, "size_mb": art.size_mb, "path": art.path,
           "quantization": art.quantization}
    name = f"{art.format}/{art.precision}"
    if art.status != "ok":
        return _Row(name, None, rec)
    try:
        be = open_backend(art.path, backend, threads=threads)
        rec["execution_precision"] = be.execution_precision
        return _Row(name, be, rec)
    except EdgeemoError as exc:
        rec.update(status="failed", reason=str(exc))
        return _Row(name, None, rec)


def _score_row(row: _Row, x: np.ndarray, y: np.ndarray, ref: Scored) -> None:
    be = row.backend
    s = ref if row.record.get("reference") else score_logits(batched_logits(be.predict, x), y, be.meta.classes)
    prob_diff = np.abs(softmax(s.logits) - softmax(ref.logits)).max(axis=1)
    row.record.update({
        "accuracy": s.metrics["accuracy"], "macro_f1": s.metrics["macro_f1"], "n": s.metrics["n"],
        "agreement_top1": float((s.pred == ref.pred).mean()),
        "prob_diff_mean": float(prob_diff.mean()), "prob_diff_max": float(prob_diff.max()),
        **paired_accuracy_delta(y, ref.pred, s.pred),
    })


def _time_rows(rows: list[_Row], one: np.ndarray, threads: int, min_runs: int, min_seconds: float, log) -> None:
    timers = {r.name: (lambda be=r.backend: be.predict(one)) for r in rows if r.backend is not None}
    log(f"timing single-face latency of {len(timers)} models, interleaved, {threads} thread(s)...")
    lat = time_interleaved(timers, min_runs=min_runs, min_seconds=min_seconds)
    for r in rows:
        if r.backend is not None:
            r.record["latency_ms"] = lat[r.name]


def _latency_ratios(records: list[dict]) -> None:
    base = records[0]["latency_ms"]["p50"]
    fp32 = {r["backend"]: r["latency_ms"]["p50"] for r in records
            if r.get("precision") == "fp32" and r.get("latency_ms") and not r.get("reference")}
    for r in records:
        if r.get("latency_ms"):
            r["latency_vs_reference"] = r["latency_ms"]["p50"] / base
            if r["backend"] in fp32:
                r["latency_vs_fp32_same_backend"] = r["latency_ms"]["p50"] / fp32[r["backend"]]


def compare(
    model_ref: str | Path,
    data: str | Path,
    *,
    formats: tuple[str, ...] = ("onnx", "openvino"),
    precisions: tuple[str, ...] = PRECISIONS,
    split: str = "PrivateTest",
    labels: str = "fer2013",
    limit: int | None = None,
    out_dir: str | Path | None = None,
    threads: int = 1,
    min_runs: int = 200,
    min_seconds: float = 2.0,
    artifacts: list[Artifact] | None = None,
    rebuild: bool = False,
    log=print,
) -> dict:
    """Export (unless ``artifacts`` are given) and compare each artifact with the reference
    (:func:`open_reference`) on ``split``'s first ``limit`` faces. ``labels``: ``fer2013`` or ``ferplus``
    (the FER+ majority; faces without one left out). INT8 is still calibrated and chosen on the data's
    own (FER2013) labels."""
    sel = select_faces(data, split=split, limit=limit, labels=labels)  # a bad selection fails before exporting
    if artifacts is None:
        artifacts = export_model(model_ref, formats, precisions, out_dir=out_dir, data=data, rebuild=rebuild, log=log)
    y = sel.faces.labels
    ref = open_reference(model_ref, artifacts, threads, log)
    rows = [_reference_row(ref)] + [_artifact_row(a, ref.meta.model, threads) for a in artifacts]
    try:
        x = ref.meta.preprocess(sel.faces.images)
        ref_scored = score_logits(batched_logits(ref.predict, x), y, ref.meta.classes)
        for row in rows:
            if row.backend is not None:
                _score_row(row, x, y, ref_scored)
        _time_rows(rows, x[:1], threads, min_runs, min_seconds, log)
    finally:
        for row in rows:
            if row.backend is not None:
                row.backend.close()
    records = [r.record for r in rows]
    _latency_ratios(records)
    return {"reference": f"{ref.name} fp32", "data": sel.faces.source, "split": sel.split, "labels": labels,
            "labels_description": label_set_name(labels), "n": int(len(y)), "threads": threads, "records": records}


def _ratio(r: dict) -> str:
    v = r.get("latency_vs_fp32_same_backend")
    return "" if v is None else f"{v:.2f}"


def to_markdown(result: dict, command: str | None = None) -> str:
    labels = label_set_name(result.get("labels", "fer2013"))
    lines = [f"Reference: **{result['reference']}** · data `{Path(result['data']).name}` {result['split']}, "
             f"{labels} (n={result['n']}) · single-face latency on {result['threads']} thread(s), timed interleaved",
             ""]
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
            f"({r.get('execution_precision', '?')}) | {r['accuracy']:.4f} | "
            f"{100 * r['accuracy_delta']:+.2f} pt ({100 * lo:+.2f}, {100 * hi:+.2f}) | "
            f"{r['mcnemar_p']:.3g} | {100 * r['agreement_top1']:.2f}% | {r['prob_diff_mean']:.4f} / "
            f"{r['prob_diff_max']:.4f} | {r['size_mb']:.2f} | {lat['p50']:.3f} | {lat['p90']:.3f} | {_ratio(r)} |"
        )
    return "\n".join(lines) + "\n"


def print_table(result: dict, title: str, console) -> None:
    """The comparison as a terminal table."""
    from .report import table as new_table

    cols = ("format", "prec.", "runs in", "status", "accuracy", "Δ acc pt (95% CI)", "McNemar p", "agree %",
            "max Δp", "MB", "p50 ms", "×FP32")
    table = new_table(title, cols, left=cols[:4])
    for r in result["records"]:
        if "accuracy" not in r:
            table.add_row(r["format"], r["precision"], "", r["status"], *[""] * 7, (r.get("reason") or "")[:40])
            continue
        lo, hi = r["accuracy_delta_ci95"]
        table.add_row(
            r["format"] + (" (ref)" if r.get("reference") else ""), r["precision"], r.get("execution_precision", ""),
            r["status"],
            f"{r['accuracy']:.4f}", f"{100 * r['accuracy_delta']:+.2f} ({100 * lo:+.2f},{100 * hi:+.2f})",
            f"{r['mcnemar_p']:.3g}", f"{100 * r['agreement_top1']:.2f}", f"{r['prob_diff_max']:.3f}",
            f"{r['size_mb']:.2f}", f"{r['latency_ms']['p50']:.3f}", _ratio(r),
        )
    console.print(table)


def write_outputs(result: dict, json_path: str | Path | None, md_path: str | Path | None,
                  command: str | None) -> list[Path]:
    """Write the JSON and/or Markdown files asked for; returns the paths written."""
    from .outputs import write_text

    written = []
    if json_path:
        write_text(json_path, json.dumps({**result, "command": command}, indent=2) + "\n")
        written.append(Path(json_path))
    if md_path:
        write_text(md_path, to_markdown(result, command))
        written.append(Path(md_path))
    return written
