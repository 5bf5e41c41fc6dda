"""Evaluate a model file on a labelled face set: data → preprocess → backend → metrics."""

from __future__ import annotations

import time
from pathlib import Path

from .classifier import EmotionClassifier
from .data import FaceSet
from .scoring import score_backend
from .selection import default_split, select_faces

__all__ = ["evaluate", "default_split"]  # default_split lives in edgeemo.selection


def evaluate(
    model: str | Path,
    data: str | Path | FaceSet,
    *,
    split: str | None = "auto",
    backend: str = "auto",
    batch_size: int = 256,
    limit: int | None = None,
    threads: int | None = None,
    labels: str = "fer2013",
) -> dict:
    """Score ``model`` on ``data`` and return the metrics dict (see
    :func:`~edgeemo.metrics.classification_metrics`) plus ``model``, ``backend``, ``data``, ``split``,
    ``labels`` and ``seconds``. ``split`` and ``limit`` select as :func:`~edgeemo.selection.select_faces`."""
    sel = select_faces(data, split=split, limit=limit, labels=labels)
    fs = sel.faces
    clf = EmotionClassifier(model, backend=backend, threads=threads)
    try:
        t0 = time.perf_counter()
        res = score_backend(clf.backend, fs.images, fs.labels, batch_size=batch_size).metrics
        seconds = time.perf_counter() - t0
        res.update({
            "model": clf.meta.model,
            "model_file": str(clf.path),
            "backend": clf.backend.name,
            "provider": clf.backend.provider,
            "precision": clf.meta.precision,
            "data": fs.source,
            "split": sel.split,
            "labels": sel.labels,
            "dropped": fs.dropped,
            "seconds": seconds,
        })
    finally:
        clf.close()
    return res
