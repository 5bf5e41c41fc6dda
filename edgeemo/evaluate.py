"""Evaluate a model file on a labelled face set: data → preprocess → backend → metrics."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .classifier import EmotionClassifier
from .data import FaceSet, load_dataset
from .errors import EdgeemoError
from .faces import check_batch_size
from .labels import label_set_name
from .metrics import classification_metrics, fer7_predictions


def check_limit(limit: int | None) -> int | None:
    """``limit`` is None (every face) or a count of at least 1 (0 never means "all")."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1):
        raise EdgeemoError(f"limit must be at least 1 face (or None for all), got {limit!r}")
    return limit


def default_split(fs: FaceSet) -> str | None:
    """PrivateTest where the data has splits (the protocol's report split), else all rows."""
    return "PrivateTest" if (fs.split == 2).any() else None


def predict_faces(model: str | Path, fs: FaceSet, *, backend: str = "auto", batch_size: int = 256,
                  threads: int | None = None) -> tuple[np.ndarray, dict]:
    """The predicted class of every face, and which model made them (``model``, ``model_file``,
    ``backend``, ``provider``, ``precision``, ``seconds``)."""
    clf = EmotionClassifier(model, backend=backend, threads=threads)
    try:
        t0 = time.perf_counter()
        pred = fer7_predictions(clf.predict_proba(fs.images, batch_size), clf.classes)
        seconds = time.perf_counter() - t0
        return pred, {"model": clf.meta.model, "model_file": str(clf.path), "model_resolved_from": clf.origin,
                      "backend": clf.backend.name, "execution_precision": clf.backend.execution_precision,
                      "provider": clf.backend.provider, "precision": clf.meta.precision, "seconds": seconds}
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
    """Score ``model`` on ``data`` and return the metrics dict (see :func:`classification_metrics`)
    plus ``model``, ``backend``, ``data``, ``split``, ``labels`` and ``seconds``. ``labels`` picks the
    label set of a file (``ferplus``: the FER+ majority); a FaceSet is scored with the labels it has."""
    check_limit(limit)
    check_batch_size(batch_size)
    fs = data if isinstance(data, FaceSet) else load_dataset(data, labels=labels)
    if split == "auto":
        split = default_split(fs)
    fs = fs.get_split(split)
    if limit is not None:
        fs = fs.subset(np.arange(len(fs)) < limit)
    if len(fs) == 0:
        raise EdgeemoError(f"{fs.source}: no labelled faces to evaluate in split {split or 'all'}")
    pred, who = predict_faces(model, fs, backend=backend, batch_size=batch_size, threads=threads)
    res = classification_metrics(fs.labels, pred)
    res.update({
        **{k: v for k, v in who.items() if k != "seconds"},
        "data": fs.source,
        "split": split or "all",
        "labels": labels,
        "labels_description": label_set_name(labels),
        "dropped": fs.dropped,
        "seconds": who["seconds"],
    })
    return res
