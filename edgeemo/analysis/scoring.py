"""Scoring photos against their folders' labels: the largest face of each photo is its answer.

A photo in which no face was found counts as wrong (an answer of ``-1``), so the detection rate
shows in accuracy too; a file that could not be read is reported and left out of the score.
The metrics are :func:`edgeemo.metrics.classification_metrics`, as for every other score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import CLASSES
from ..metrics import classification_metrics
from ..timing import summarize_ms
from .results import ImageResult

NO_FACE = -1


def photo_answer(result: ImageResult, classes: Sequence[str] = CLASSES) -> int:
    """The class index of the largest face's label, or :data:`NO_FACE`."""
    if not result.faces:
        return NO_FACE
    largest = max(result.faces, key=lambda f: f.box[2] * f.box[3])
    return classes.index(largest.label)


def score_photos(results: Sequence[ImageResult], classes: Sequence[str] = CLASSES) -> dict:
    """``n`` scored photos, ``detected`` (share with a face), accuracy, balanced accuracy, macro-F1,
    per-class figures and the confusion matrix, plus counts of what was left out."""
    scored = [r for r in results if r.ok and r.truth is not None and r.truth >= 0]
    y = np.array([r.truth for r in scored], np.int64)
    pred = np.array([photo_answer(r, classes) for r in scored], np.int64)
    summary = classification_metrics(y, pred, tuple(classes))
    summary["detected"] = float((pred != NO_FACE).mean()) if len(pred) else 0.0
    summary["no_face"] = int((pred == NO_FACE).sum())
    summary["unreadable"] = sum(1 for r in results if not r.ok)
    summary["unlabelled"] = sum(1 for r in results if r.ok and r.truth is None)
    summary.pop("invalid", None)  # the same photos as no_face
    return summary


def timing_summary(results: Sequence[ImageResult]) -> dict:
    """Per-image milliseconds (p50 and more, :func:`edgeemo.timing.summarize_ms`) and mean per stage."""
    ok = [r for r in results if r.ok]
    stages = sorted({k for r in ok for k in r.stages_ms})
    return {"ms_per_image": summarize_ms([r.ms * 1e6 for r in ok]),
            "stage_ms_mean": {k: float(np.mean([r.stages_ms.get(k, 0.0) for r in ok])) if ok else 0.0
                              for k in stages}}
