"""Classification metrics in plain numpy (no scikit-learn on the board)."""

from __future__ import annotations

import numpy as np

from .errors import EdgeemoError
from .labels import CLASSES, mapping_from


def fer7_predictions(scores: np.ndarray, classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """Predicted FER2013 class indices from scores in a model's own class order, matched by name
    (a model that lists the classes in another order is scored right; contempt and the like give -1)."""
    idx = np.asarray(scores).argmax(1)
    if tuple(classes) == CLASSES:
        return idx
    try:
        return mapping_from(classes)[idx]
    except KeyError as exc:
        raise EdgeemoError(f"the model's classes cannot be scored against FER2013 labels: {exc}") from None


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = len(CLASSES)) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    valid = (y_pred >= 0) & (y_pred < num_classes)
    np.add.at(cm, (y_true[valid], y_pred[valid]), 1)
    return cm


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: tuple[str, ...] = CLASSES
) -> dict:
    """Accuracy, balanced accuracy, macro and per-class precision/recall/F1, confusion.

    A prediction of ``-1`` (an invalid answer, e.g. a vision LLM's refusal) counts as wrong
    for every class. Macro averages run over the classes present in ``y_true``, so a test
    set without, say, disgust is not penalised for it.
    """
    k = len(class_names)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = confusion_matrix(y_true, y_pred, k)
    support = np.bincount(y_true, minlength=k)[:k]
    predicted = cm.sum(axis=0)
    tp = np.diag(cm)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    present = support > 0
    n = int(len(y_true))
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "invalid": int((y_pred < 0).sum()),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(class_names)
        },
        "classes": list(class_names),
        "confusion": cm.tolist(),
    }
