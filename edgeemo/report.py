"""Rendering results: terminal tables and a confusion-matrix PNG (drawn with OpenCV, so the
runtime core needs no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

from .console_log import make_console
from .labels import label_set_name


def table(title: str, columns: Sequence[str], *, left: Sequence[str] = (), wrap: Sequence[str] = ()) -> Table:
    """A terminal table as every command prints one: the ``left`` columns (names) left-aligned, the
    others (figures) right-aligned, and no column wrapped but the ``wrap`` ones (free text)."""
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, justify="left" if c in left else "right", no_wrap=c not in wrap)
    return t


def metrics_tables(res: dict) -> list[Table]:
    """A summary table, a per-class table and the confusion matrix."""
    title = f"{res.get('model', '?')} · {res.get('backend', '?')} · {Path(str(res.get('data', '?'))).name}"
    labels = f" · {label_set_name(res['labels'])}" if res.get("labels") else ""
    summary = table(f"{title} · {res.get('split', 'all')}{labels} · n={res['n']}",
                    ("accuracy", "balanced acc.", "macro precision", "macro recall", "macro F1"))
    summary.add_row(*(f"{res[k]:.4f}" for k in
                      ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1")))

    per = table("per class", ("class", "precision", "recall", "F1", "support"), left=("class",))
    for name, m in res["per_class"].items():
        per.add_row(name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))

    classes = res["classes"]
    cm = table("confusion (rows: true, columns: predicted)", ("", *(c[:5] for c in classes)), left=("",))
    for c, row in zip(classes, res["confusion"]):
        cm.add_row(c, *(str(v) for v in row))
    return [summary, per, cm]


def print_metrics(res: dict, console: Console | None = None) -> None:
    console = console or make_console()
    for t in metrics_tables(res):
        console.print(t)


def confusion_png(confusion, classes, path: str | Path, title: str = "") -> Path:
    """Draw a row-normalised confusion matrix with counts and recall in each cell."""
    cm = np.asarray(confusion, dtype=np.float64)
    k = len(classes)
    cell, left, top = 78, 110, 70 if title else 40
    w, h = left + cell * k + 20, top + cell * k + 90
    img = np.full((h, w, 3), 255, np.uint8)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    font = cv2.FONT_HERSHEY_SIMPLEX
    if title:
        cv2.putText(img, title, (10, 26), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(k):
        for j in range(k):
            x0, y0 = left + j * cell, top + i * cell
            shade = int(255 - 200 * frac[i, j])
            color = (255, shade, shade) if i != j else (shade, 255 - (255 - shade) // 3, shade)
            cv2.rectangle(img, (x0, y0), (x0 + cell - 2, y0 + cell - 2), color, -1)
            ink = (0, 0, 0) if frac[i, j] < 0.6 else (255, 255, 255)
            cv2.putText(img, f"{int(cm[i, j])}", (x0 + 8, y0 + 32), font, 0.55, ink, 1, cv2.LINE_AA)
            cv2.putText(img, f"{100 * frac[i, j]:.0f}%", (x0 + 8, y0 + 58), font, 0.45, ink, 1, cv2.LINE_AA)
        cv2.putText(img, classes[i][:8], (6, top + i * cell + 44), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for j in range(k):
        x0 = left + j * cell + 4
        cv2.putText(img, classes[j][:8], (x0, top + k * cell + 22), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "rows: true class   columns: predicted   % of row", (10, h - 20), font, 0.45,
                (60, 60, 60), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        from .errors import EdgeemoError

        raise EdgeemoError(f"{path}: could not write the PNG (is the folder writable?)")
    return path
