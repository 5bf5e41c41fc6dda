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


def _board_sampler(job: dict, rec: dict):
    """tegrastats running in the background when the profile asks for board figures (a Jetson)."""
    if not job.get("board_stats"):
        return None
    from .jetson import TegrastatsSampler

    if TegrastatsSampler.available():
        return TegrastatsSampler(interval_ms=int(job.get("board_interval_ms", 100))).start()
    rec["board_note"] = "tegrastats not found: no board RAM or power figures"
    return None


def _cold_start(job: dict, rec: dict) -> tuple[object, np.ndarray, np.ndarray, float]:
    """Import the runtime, load the model, run the first inference; returns the backend, a single-face
    and a throughput batch of generated faces (the model's input size), and the start time."""
    t0 = time.perf_counter()
    be, t_import = _open(job)
    t_load = time.perf_counter()
    pre = be.meta.preprocess
    n = max(job["batch"], job["throughput_batch"])
    x_all = pre(np.random.default_rng(0).integers(0, 256, size=(n, *pre.size), dtype=np.uint8))
    x1 = np.ascontiguousarray(x_all[: job["batch"]])
    xb = np.ascontiguousarray(x_all[: job["throughput_batch"]])
    be.predict(x1)
    t_first = time.perf_counter()
    rec.update({
        "provider": be.provider, "runtime_version": be.runtime_version(),
        "execution_precision": be.execution_precision,
        "cold_start_ms": (t_first - t0) * 1e3, "import_ms": (t_import - t0) * 1e3,
        "load_ms": (t_load - t_import) * 1e3, "first_inference_ms": (t_first - t_load) * 1e3,
        "input_shape": list(x1.shape),
    })
    return be, x1, xb, t0


def _timed(be, x1: np.ndarray, xb: np.ndarray, job: dict, rec: dict) -> tuple[float, float, int]:
    """Single-face latency, then throughput at the batch; returns the latency loop's window and run count."""
    from ..timing import time_one

    loop_t0 = time.perf_counter()
    lat = time_one(lambda: be.predict(x1), warmup=job["warmup"], min_runs=job["min_runs"],
                   min_seconds=job["min_seconds"], max_seconds=job["max_seconds"])
    loop_t1 = time.perf_counter()
    rec["latency_ms"] = {k: lat[k] for k in ("mean", "std", "min", "p50", "p90", "p95", "p99")}
    rec["latency_runs"] = lat["n"]
    tb = job["throughput_batch"]
    tp = time_one(lambda: be.predict(xb), warmup=2, min_runs=job.get("throughput_min_runs", 10),
                  min_seconds=job.get("throughput_min_seconds", 1.0), max_seconds=job["max_seconds"])
    rec.update({"throughput_fps": tb / (tp["mean"] / 1e3), "throughput_batch": tb, "throughput_runs": tp["n"]})
    return loop_t0, loop_t1, lat["n"]


def _accuracy(be, job: dict, rec: dict) -> None:
    if not job.get("faces"):
        rec.update({"accuracy": None, "macro_f1": None, "n": 0})
        return
    from ..scoring import score_backend

    z = np.load(job["faces"])
    m = score_backend(be, z["images"], z["labels"].astype(np.int64), batch_size=int(job.get("eval_batch", 128)))
    rec.update({"accuracy": m.metrics["accuracy"], "macro_f1": m.metrics["macro_f1"], "n": m.metrics["n"]})


def measure(job: dict) -> dict:
    """Run the job and return its record (raises on failure; :func:`main` turns that into a row)."""
    rec: dict = {}
    sampler = _board_sampler(job, rec)
    try:
        base_mb = peak_rss_mb()
        be, x1, xb, t0 = _cold_start(job, rec)
        loop_t0, loop_t1, runs = _timed(be, x1, xb, job, rec)
        rec["peak_rss_mb"] = peak_rss_mb() - base_mb
        rec["baseline_rss_mb"] = base_mb
        if sampler is not None:
            # the loop ran warm-up + timed runs; count the timed ones against the sampled window
            rec.update(sampler.summarize(t0, loop_t0, loop_t1, job["warmup"] + runs))
            rec["memory_source"] = "tegrastats"
        else:
            rec["memory_source"] = "process VmHWM"
        _accuracy(be, job, rec)
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
