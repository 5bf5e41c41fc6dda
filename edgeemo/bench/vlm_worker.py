"""Measure one vision-LLM bench row in this (fresh) process: ``python -m edgeemo.bench.vlm_worker``
reads a JSON job on stdin and prints ``EDGEEMO_RECORD {json}``, like :mod:`edgeemo.bench.worker`.

The memory baseline is taken before llama.cpp is imported, so ``peak_rss_mb`` is the model's
own high-water mark (weights, projector, context, image embeddings)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..memory import peak_rss_mb
from .jobs import rounded, run_job


def gguf_precision(path: str | Path) -> str | None:
    """The weights' type as llama.cpp names it (Q4_K_M, Q8_0, F16, ...): the file's
    ``general.file_type`` when present, else the type holding most of the tensor bytes."""
    try:
        import gguf
    except ImportError:
        return None
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception:  # an unreadable file is reported by llama.cpp itself
        return None
    field = reader.fields.get("general.file_type")
    if field is not None:
        try:
            return gguf.LlamaFileType(int(field.parts[field.data[0]][0])).name.removeprefix("MOSTLY_").replace(
                "ALL_", "")
        except (ValueError, IndexError):
            pass
    sizes: dict[str, int] = {}
    for t in reader.tensors:
        sizes[t.tensor_type.name] = sizes.get(t.tensor_type.name, 0) + int(t.n_bytes)
    return max(sizes, key=sizes.get) if sizes else None


def measure(job: dict) -> dict:
    base_mb = peak_rss_mb()
    t0 = time.perf_counter()
    from ..data import FaceSet
    from ..vlm.run import vlm_evaluate

    z = np.load(job["faces"])
    fs = FaceSet(z["images"], z["labels"].astype(np.int64), np.full(len(z["labels"]), -1), job["faces"])
    opts = dict(job.get("options") or {})
    res = vlm_evaluate(job["backend"], job["model"], fs, mmproj=job.get("mmproj"), split=None,
                       cache=job.get("cache"), refresh=bool(job.get("refresh")), **opts)
    total_s = time.perf_counter() - t0
    lat = res.get("latency") or {}
    rec: dict = {
        "status": "ok", "accuracy": res["accuracy"], "macro_f1": res["macro_f1"], "n": res["n"],
        "balanced_accuracy": res.get("balanced_accuracy"),
        "latency_ms": {k: lat[k] for k in ("mean", "std", "p50", "p90", "p95", "p99")} if lat else None,
        "invalid_rate": res["invalid_rate"], "refusal_rate": res["refusal_rate"], "cost_usd": res.get("cost_usd"),
        "model_calls": res["model_calls"], "cache_hits": res["cache_hits"], "tokens": res["tokens"],
        "prompt": res["prompt"], "image_size": res["image_size"],
    }
    new = res["new_answers"]
    if job["backend"] == "llava":
        lc = res["llama_cpp"]
        load_s = lc["load_s"] or 0.0  # None: every answer came from the cache, the model was never loaded
        rec.update({
            "precision": gguf_precision(job["model"]),
            "size_mb": sum(Path(p).stat().st_size for p in (job["model"], job["mmproj"])) / 1e6,
            "load_ms": None if lc["load_s"] is None else 1e3 * load_s,
            "ttft_ms": None if res.get("ttft_s") is None else 1e3 * res["ttft_s"],
            "tokens_per_s": res.get("tokens_per_s"), "scoring": res.get("scoring"), "threads": opts.get("threads"),
            "peak_rss_mb": peak_rss_mb() - base_mb, "baseline_rss_mb": base_mb, "memory_source": "process VmHWM",
        })
        # cold start: loading the model and projector, then the first answer
        first = res.get("first_answer_s")
        rec["cold_start_ms"] = None if first is None or lc["load_s"] is None else 1e3 * (load_s + first)
        rec["throughput_fps"] = new / max(total_s - load_s, 1e-9) if new else None
    else:
        rec.update({"precision": "api", "batch_size": res.get("batch_size"), "retries": res.get("retries"),
                    "price": res.get("price"),
                    "throughput_fps": new / total_s if new else None})
        if res["cache_hits"]:
            rec["note"] = (f"{res['cache_hits']} of {res['n']} answers came from the response cache; their latency "
                           "is the one recorded when they were asked (--vlm-refresh asks again)")
    out = rounded(rec)
    out["cost_usd"] = res.get("cost_usd")  # fractions of a cent add up over a dataset: kept whole
    return out


def main() -> int:
    return run_job(measure)


if __name__ == "__main__":
    sys.exit(main())
