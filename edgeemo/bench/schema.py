"""The bench result's schema: ``{schema_version, metadata, records}``, and what every record holds."""

from __future__ import annotations

SCHEMA_VERSION = 1
RECORD_KEYS = (
    "model", "backend", "device", "precision", "execution_precision", "status", "reason", "accuracy", "macro_f1",
    "n", "latency_ms", "throughput_fps", "throughput_batch", "cold_start_ms", "peak_rss_mb", "size_mb", "threads",
    "provider", "runtime_version", "format", "path", "model_ref",
)
LAT_KEYS = ("mean", "std", "p50", "p90", "p95", "p99")
VLM_KIND = "vision LLM, zero-shot"


def empty_record(**fields) -> dict:
    """A record with every :data:`RECORD_KEYS` key (None until measured), ``n`` 0, and ``fields``."""
    rec: dict = dict.fromkeys(RECORD_KEYS)
    rec["n"] = 0
    rec.update(fields)
    return rec


def is_vlm(r: dict) -> bool:
    return str(r.get("kind") or "").startswith("vision LLM")


def row_label(r: dict) -> str:
    """``model backend[/device] precision``, as tables, logs and the plot name a row."""
    dev = f"/{r['device']}" if r.get("device") and r["device"].lower() not in ("cpu",) else ""
    return f"{r['model']} {r.get('backend') or ''}{dev} {r.get('precision') or ''}".strip()
