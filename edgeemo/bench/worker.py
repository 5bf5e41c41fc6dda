"""Measure one bench row in this (fresh) process: ``python -m edgeemo.bench.worker`` reads a JSON
job on stdin and prints one line ``EDGEEMO_RECORD {json}`` on stdout.

Order matters: the memory baseline is taken before the runtime is imported; cold start covers
import + load + first inference; then the single-face latency loop, the throughput loop, and
only then the labelled faces are loaded for accuracy, so they do not count in the peak memory.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..memory import peak_rss_mb
from .jobs import rounded, run_job


def _open(job: dict):
    from ..backends import backend_class

    cls = backend_class(job["backend"])  # imports the runtime
    t_import = time.perf_counter()
    kwargs: dict = {"threads": job.get("threads")}
    device = job.get("device", "cpu")
    if job["backend"] == "onnxruntime":
        import onnxruntime as ort

        want = "CUDAExecutionProvider" if device.lower() in ("gpu", "cuda") else "CPUExecutionProvider"
        avail = ort.get_available_providers()
        if want not in avail:
            from ..errors import EdgeemoError

            raise EdgeemoError(f"onnxruntime here has no {want} (available: {', '.join(avail)}); "
                               "install onnxruntime-gpu for GPU rows (on a Jetson: the wheel from NVIDIA's "
                               "Jetson AI Lab index for your JetPack)")
        kwargs["providers"] = [want] + (["CPUExecutionProvider"] if want != "CPUExecutionProvider" else [])
    elif job["backend"] == "openvino":
        kwargs["device"] = device.upper()
    return cls(job["path"], **kwargs), t_import


def measure(job: dict) -> dict:
    """Run the job and return its record (raises on failure; :func:`main` turns that into a row)."""
    from ..timing import time_one

    rec: dict = {}
    sampler = None
    if job.get("board_stats"):
        from .jetson import TegrastatsSampler

        if TegrastatsSampler.available():
            sampler = TegrastatsSampler(interval_ms=int(job.get("board_interval_ms", 100))).start()
        else:
            rec["board_note"] = "tegrastats not found: no board RAM or power figures"
    try:
        base_mb = peak_rss_mb()
        t0 = time.perf_counter()
        be, t_import = _open(job)
        t_load = time.perf_counter()
        rng = np.random.default_rng(0)
        pre = be.meta.preprocess
        fake = rng.integers(0, 256, size=(max(job["batch"], job["throughput_batch"]), *pre.size), dtype=np.uint8)
        x_all = pre(fake)
        x1 = np.ascontiguousarray(x_all[: job["batch"]])
        xb = np.ascontiguousarray(x_all[: job["throughput_batch"]])
        be.predict(x1)
        t_first = time.perf_counter()
        rec.update({
            "provider": be.provider, "runtime_version": be.runtime_version(),
            "cold_start_ms": (t_first - t0) * 1e3, "import_ms": (t_import - t0) * 1e3,
            "load_ms": (t_load - t_import) * 1e3, "first_inference_ms": (t_first - t_load) * 1e3,
            "input_shape": list(x1.shape),
        })
        loop_t0 = time.perf_counter()
        lat = time_one(lambda: be.predict(x1), warmup=job["warmup"], min_runs=job["min_runs"],
                       min_seconds=job["min_seconds"], max_seconds=job["max_seconds"])
        loop_t1 = time.perf_counter()
        rec["latency_ms"] = {k: lat[k] for k in ("mean", "std", "min", "p50", "p90", "p95", "p99")}
        rec["latency_runs"] = lat["n"]
        tb = job["throughput_batch"]
        tp = time_one(lambda: be.predict(xb), warmup=2, min_runs=job.get("throughput_min_runs", 10),
                      min_seconds=job.get("throughput_min_seconds", 1.0), max_seconds=job["max_seconds"])
        rec["throughput_fps"] = tb / (tp["mean"] / 1e3)
        rec["throughput_batch"] = tb
        rec["throughput_runs"] = tp["n"]
        rec["peak_rss_mb"] = peak_rss_mb() - base_mb
        rec["baseline_rss_mb"] = base_mb
        if sampler is not None:
            # the loop ran warm-up + timed runs; count the timed ones against the sampled window
            rec.update(sampler.summarize(t0, loop_t0, loop_t1, job["warmup"] + lat["n"]))
            rec["memory_source"] = "tegrastats"
        else:
            rec["memory_source"] = "process VmHWM"
        if job.get("faces"):
            z = np.load(job["faces"])
            images, labels = z["images"], z["labels"].astype(np.int64)
            from ..scoring import score_backend

            m = score_backend(be, images, labels, batch_size=int(job.get("eval_batch", 128))).metrics
            rec.update({"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"]})
        else:
            rec.update({"accuracy": None, "macro_f1": None, "n": 0})
        be.close()
    finally:
        if sampler is not None:
            sampler.stop()
    rec["status"] = "ok"
    return rounded(rec)


def main() -> int:
    return run_job(measure)


if __name__ == "__main__":
    sys.exit(main())
