"""Paired comparison of two classifiers on the same samples."""

from __future__ import annotations

import math

import numpy as np


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar test on the discordant counts ``b`` and ``c``."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    log_half_n = n * math.log(0.5)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half_n)
               for i in range(k + 1))
    return float(min(1.0, 2.0 * tail))


def paired_accuracy_delta(y: np.ndarray, pred_ref: np.ndarray, pred_new: np.ndarray) -> dict:
    """Accuracy change of ``pred_new`` against ``pred_ref`` with a normal-approximation 95%
    interval of the paired difference, and McNemar's exact p-value."""
    ok_ref = np.asarray(pred_ref) == np.asarray(y)
    ok_new = np.asarray(pred_new) == np.asarray(y)
    d = ok_new.astype(np.float64) - ok_ref.astype(np.float64)
    n = len(d)
    mean = float(d.mean()) if n else 0.0
    half = float(1.96 * d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    b = int((ok_ref & ~ok_new).sum())
    c = int((~ok_ref & ok_new).sum())
    return {"accuracy_delta": mean, "accuracy_delta_ci95": [mean - half, mean + half],
            "mcnemar_p": mcnemar_exact_p(b, c), "discordant": {"ref_only": b, "new_only": c}}
