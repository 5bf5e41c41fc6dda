"""Scoring a model on labelled faces: batched logits, predictions and the metrics of :mod:`.metrics`.

One loop for every model that outputs logits — a :class:`~edgeemo.backends.Backend`, a torch module
during training, an onnxruntime session or an OpenVINO compiled model while a quantization recipe
is chosen. ``predict`` maps one prepared batch to N×classes logits; ``prepare`` (typically the
model's :class:`~edgeemo.preprocess.Preprocess`) turns raw face crops into that batch, one batch
at a time so a large set never sits in memory as float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelFileError
from .labels import CLASSES
from .metrics import classification_metrics, fer7_predictions

Predict = Callable[[Any], np.ndarray]
BATCH = 256


def finite_logits(logits: Any) -> np.ndarray:
    """Logits as float32, refusing NaN or infinite values: scored or shown, they would read as a
    confident first class (angry)."""
    out = np.asarray(logits, dtype=np.float32)
    bad = ~np.isfinite(out).all(axis=-1)
    if bad.any():
        raise ModelFileError(f"the model gave NaN or infinite values for {int(bad.sum())} of {len(out)} faces, so "
                             "its answers would be wrong: its weights are damaged, diverged in training, or overflow "
                             "at this precision (try its FP32 file, or export it again with 'edgeemo export')")
    return out


def batched_logits(predict: Predict, x: np.ndarray, *, batch_size: int = BATCH,
                   prepare: Callable[[np.ndarray], Any] | None = None, num_classes: int = len(CLASSES)) -> np.ndarray:
    """``predict`` over ``x`` in batches of ``batch_size``; ``prepare`` maps each raw batch first."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        out.append(finite_logits(predict(prepare(xb) if prepare is not None else xb)))
    return np.concatenate(out) if out else np.zeros((0, num_classes), np.float32)


@dataclass
class Scored:
    """Logits (in the model's class order), predictions as FER2013 class indices (matched by class name)
    and :func:`~edgeemo.metrics.classification_metrics` of one model."""

    logits: np.ndarray
    pred: np.ndarray
    metrics: dict

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]


def score_logits(logits: np.ndarray, labels: np.ndarray, classes: tuple[str, ...] = CLASSES) -> Scored:
    """Metrics of logits already computed (e.g. a reference reused across comparisons); ``classes`` is
    the model's class order (a model that lists them in another order is scored right)."""
    pred = fer7_predictions(logits, classes) if len(logits) else np.zeros(0, np.int64)
    return Scored(logits, pred, classification_metrics(labels, pred))


def score(predict: Predict, x: np.ndarray, labels: np.ndarray, *, batch_size: int = BATCH,
          prepare: Callable[[np.ndarray], Any] | None = None, classes: tuple[str, ...] = CLASSES) -> Scored:
    """Run ``predict`` over ``x`` (prepared per batch by ``prepare``) and score it against ``labels``."""
    logits = batched_logits(predict, x, batch_size=batch_size, prepare=prepare, num_classes=len(classes))
    return score_logits(logits, labels, classes)


def score_backend(backend, images: np.ndarray, labels: np.ndarray, *, batch_size: int = BATCH) -> Scored:
    """Score a :class:`~edgeemo.backends.Backend` on raw face crops, preprocessed as its file says."""
    return score(backend.predict, images, labels, batch_size=batch_size, prepare=backend.meta.preprocess,
                 classes=tuple(backend.meta.classes))
