"""Latency measurement: warm-up, then timed runs until both a minimum count and a minimum
duration are reached. Several candidates are timed *interleaved* (round-robin in short
chunks) so that machine noise hits all of them alike and their ratios stay meaningful."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def summarize_ms(samples_ns: list[int] | list[float] | np.ndarray) -> dict:
    """Latency statistics in milliseconds from samples in nanoseconds: the one definition every
    table uses (sample standard deviation, ddof=1; linear-interpolated percentiles)."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if ms.size == 0:
        return {"n": 0}
    return {
        "n": int(ms.size),
        "mean": float(ms.mean()),
        "std": float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        "min": float(ms.min()),
        "p50": float(np.percentile(ms, 50)),
        "p90": float(np.percentile(ms, 90)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
    }


def summarize_seconds(samples_s: list[float] | np.ndarray) -> dict:
    """:func:`summarize_ms` for samples measured in seconds."""
    return summarize_ms(np.asarray(samples_s, dtype=np.float64) * 1e9)


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    warmup: int = 10,
    min_runs: int = 100,
    min_seconds: float = 1.0,
    chunk: int = 10,
    max_seconds: float = 120.0,
) -> dict[str, dict]:
    """Per-call latency statistics (ms) for each zero-argument callable in ``fns``."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[int]] = {k: [] for k in fns}
    spent: dict[str, int] = {k: 0 for k in fns}
    start = time.perf_counter()
    while True:
        done = all(len(samples[k]) >= min_runs and spent[k] >= min_seconds * 1e9 for k in fns)
        if done or time.perf_counter() - start > max_seconds:
            break
        for k, fn in fns.items():
            for _ in range(chunk):
                t0 = time.perf_counter_ns()
                fn()
                dt = time.perf_counter_ns() - t0
                samples[k].append(dt)
                spent[k] += dt
    return {k: summarize_ms(v) for k, v in samples.items()}


def time_one(fn: Callable[[], object], **kwargs) -> dict:
    return time_interleaved({"_": fn}, **kwargs)["_"]
