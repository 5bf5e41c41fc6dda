"""Evaluate a model file on a labelled face set: data → preprocess → backend → metrics."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .classifier import EmotionClassifier
from .data import FaceSet, load_dataset
from .errors import EdgeemoError
from .faces import check_batch_size
from .metrics import classification_metrics, fer7_predictions


def check_limit(limit: int | None) -> int | None:
    """``limit`` is None (every face) or a count of at least 1 (0 never means "all")."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1):
        raise EdgeemoError(f"limit must be at least 1 face (or None for all), got {limit!r}")
    return limit


def default_split(fs: FaceSet) -> str | None:
    """PrivateTest where the data has splits (the protocol's report split), else all rows."""
    return "PrivateTest" if (fs.split == 2).any() else None


def evaluate(
    model: str | Path,
    data: str | Path | FaceSet,
    *,
    split: str | None = "auto",
    backend: str = "auto",
    batch_size: int = 256,
    limit: int | None = None,
    threads: int | None = None,
) -> dict:
    """Score ``model`` on ``data`` and return the metrics dict (see :func:`classification_metrics`)
    plus ``model``, ``backend``, ``data``, ``split`` and ``seconds``."""
    check_limit(limit)
    check_batch_size(batch_size)
    fs = data if isinstance(data, FaceSet) else load_dataset(data)
    if split == "auto":
        split = default_split(fs)
    fs = fs.get_split(split)
    if limit is not None:
        fs = fs.subset(np.arange(len(fs)) < limit)
    if len(fs) == 0:
        raise EdgeemoError(f"{fs.source}: no labelled faces to evaluate in split {split or 'all'}")
    clf = EmotionClassifier(model, backend=backend, threads=threads)
    t0 = time.perf_counter()
    pred = fer7_predictions(clf.predict_proba(fs.images, batch_size), clf.classes)
    seconds = time.perf_counter() - t0
    res = classification_metrics(fs.labels, pred)
    res.update({
        "model": clf.meta.model,
        "model_file": str(clf.path),
        "model_resolved_from": clf.origin,
        "backend": clf.backend.name,
        "execution_precision": clf.backend.execution_precision,
        "provider": clf.backend.provider,
        "precision": clf.meta.precision,
        "data": fs.source,
        "split": split or "all",
        "dropped": fs.dropped,
        "seconds": seconds,
    })
    clf.close()
    return res
