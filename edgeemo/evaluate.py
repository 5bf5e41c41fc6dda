"""Evaluate a model file on a labelled face set: data → selection → preprocess → backend → metrics."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .classifier import EmotionClassifier
from .data import FaceSet
from .faces import check_batch_size
from .labels import label_set_name
from .metrics import classification_metrics, fer7_predictions
from .selection import check_limit, default_split, select_faces

__all__ = ["evaluate", "predict_faces", "check_limit", "default_split"]  # the last two live in edgeemo.selection


def predict_faces(model: str | Path, fs: FaceSet, *, backend: str = "auto", batch_size: int = 256,
                  threads: int | None = None) -> tuple[np.ndarray, dict]:
    """The predicted FER2013 class of every face, and which model made them (``model``, ``model_file``,
    ``backend``, ``provider``, ``precision``, ``seconds``)."""
    clf = EmotionClassifier(model, backend=backend, threads=threads)
    try:
        t0 = time.perf_counter()
        pred = fer7_predictions(clf.predict_logits(fs.images, batch_size), clf.classes)
        seconds = time.perf_counter() - t0
        return pred, {"model": clf.meta.model, "model_file": str(clf.path), "model_resolved_from": clf.origin,
                      "backend": clf.backend.name, "execution_precision": clf.backend.execution_precision,
                      "provider": clf.backend.provider, "precision": clf.meta.precision,
                      "precision_choice": clf.precision_choice.describe(), "seconds": seconds}
    finally:
        clf.close()


def evaluate(
    model: str | Path,
    data: str | Path | FaceSet,
    *,
    split: str | None = "auto",
    labels: str = "fer2013",
    backend: str = "auto",
    batch_size: int = 256,
    limit: int | None = None,
    threads: int | None = None,
) -> dict:
    """Score ``model`` on ``data`` and return the metrics dict (see
    :func:`~edgeemo.metrics.classification_metrics`) plus ``model``, ``backend``, ``data``, ``split``,
    ``labels`` and ``seconds``. ``split``, ``limit`` and ``labels`` select as
    :func:`~edgeemo.selection.select_faces` (``ferplus``: the FER+ majority; a FaceSet is scored with
    the labels it has)."""
    check_batch_size(batch_size)
    sel = select_faces(data, split=split, limit=limit, labels=labels)
    pred, who = predict_faces(model, sel.faces, backend=backend, batch_size=batch_size, threads=threads)
    res = classification_metrics(sel.faces.labels, pred)
    res.update({
        **{k: v for k, v in who.items() if k != "seconds"},
        "data": sel.faces.source,
        "split": sel.split,
        "labels": labels,
        "labels_description": label_set_name(labels),
        "dropped": sel.faces.dropped,
        "seconds": who["seconds"],
    })
    return res
