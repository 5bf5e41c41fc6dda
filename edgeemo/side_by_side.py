"""Two classifiers on the same faces: each one's accuracy, macro-F1 and per-class F1, how often they
agree, and whether the accuracy difference is real (paired 95% interval, exact McNemar test)."""

from __future__ import annotations

import numpy as np

from .metrics import classification_metrics
from .stats import paired_accuracy_delta


def _summary(m: dict) -> dict:
    return {"accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"], "macro_f1": m["macro_f1"],
            "invalid": m["invalid"], "per_class_f1": {c: v["f1"] for c, v in m["per_class"].items()}}


def side_by_side(y: np.ndarray, reference: tuple[str, np.ndarray], other: tuple[str, np.ndarray]) -> dict:
    """``reference`` and ``other`` are ``(name, predictions)`` on the faces labelled ``y``; the accuracy
    delta is other minus reference (positive: ``other`` is right more often)."""
    (ref_name, ref_pred), (new_name, new_pred) = reference, other
    y, ref_pred, new_pred = (np.asarray(a, dtype=np.int64) for a in (y, ref_pred, new_pred))
    return {
        "n": int(len(y)),
        "reference": ref_name,
        "other": new_name,
        "metrics": {ref_name: _summary(classification_metrics(y, ref_pred)),
                    new_name: _summary(classification_metrics(y, new_pred))},
        "agreement_top1": float((ref_pred == new_pred).mean()) if len(y) else 0.0,
        **paired_accuracy_delta(y, ref_pred, new_pred),
    }
