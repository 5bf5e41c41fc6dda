"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from edgeemo.metrics import classification_metrics, confusion_matrix
from edgeemo.stats import mcnemar_exact_p, paired_accuracy_delta
from edgeemo.timing import summarize_ms, time_interleaved

ABC = ("a", "b", "c")


def test_confusion_matrix_rows_are_truth():
    cm = confusion_matrix(np.array([0, 0, 1, 2]), np.array([1, 0, 1, 1]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_hand_computed_metrics():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(y, p, ABC)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # precision: a 1/2, b 2/3, c 1/1 ; recall: a 1/2, b 1, c 1/2
    assert m["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["c"]["precision"] == pytest.approx(1.0)
    assert m["per_class"]["b"]["recall"] == pytest.approx(1.0)
    assert m["per_class"]["c"]["recall"] == pytest.approx(0.5)
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert m["macro_recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["balanced_accuracy"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["per_class"]["a"]["support"] == 2


def test_invalid_predictions_count_as_wrong():
    m = classification_metrics(np.array([0, 1, 2]), np.array([0, -1, -1]), ABC)
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["invalid"] == 2
    assert m["per_class"]["b"]["recall"] == 0.0
    assert np.array(m["confusion"]).sum() == 1  # invalid answers are in no column


def test_absent_class_is_left_out_of_macro_averages():
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 1]), ABC)
    assert m["macro_f1"] == pytest.approx(1.0)
    assert m["per_class"]["c"]["support"] == 0


def test_mcnemar_exact_matches_binomial():
    # b=1, c=9: p = 2 * P(X<=1 | n=10, 0.5) = 2 * 11/1024
    assert mcnemar_exact_p(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(5, 5) == 1.0


def test_paired_delta():
    y = np.array([0, 1, 2, 0])
    ref = np.array([0, 1, 0, 0])  # 3 correct
    new = np.array([0, 1, 2, 1])  # 3 correct, different ones
    d = paired_accuracy_delta(y, ref, new)
    assert d["accuracy_delta"] == pytest.approx(0.0)
    assert d["discordant"] == {"ref_only": 1, "new_only": 1}
    lo, hi = d["accuracy_delta_ci95"]
    assert lo < 0 < hi


def test_latency_summary_and_interleaving():
    s = summarize_ms([1_000_000, 2_000_000, 3_000_000])
    assert s["n"] == 3 and s["p50"] == pytest.approx(2.0) and s["mean"] == pytest.approx(2.0)
    calls = {"a": 0, "b": 0}

    def make(k):
        def f():
            calls[k] += 1
        return f

    out = time_interleaved({"a": make("a"), "b": make("b")}, warmup=2, min_runs=30, min_seconds=0.0, chunk=5)
    assert out["a"]["n"] >= 30 and out["b"]["n"] >= 30
    assert abs(out["a"]["n"] - out["b"]["n"]) <= 5  # round-robin keeps them level
