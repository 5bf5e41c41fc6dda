"""Faces gathered one at a time by a loader, and what it skipped: counted per reason, a few examples each."""

from __future__ import annotations

import warnings

import numpy as np

from .dataset import FaceSet

SHOW_EXAMPLES = 5  # examples (line numbers, file names) quoted per skip reason


class FaceCollector:
    """The faces read so far and the skipped inputs; :meth:`face_set` turns them into a :class:`FaceSet`."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []
        self.labels: list[int] = []
        self.splits: list[int] = []
        self.dropped: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}

    def add(self, image: np.ndarray, label: int, split: int) -> None:
        self.images.append(image)
        self.labels.append(label)
        self.splits.append(split)

    def drop(self, reason: str, what: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n
        if len(self.examples.setdefault(reason, [])) < SHOW_EXAMPLES:
            self.examples[reason].append(what)

    def problems(self) -> str:
        """The skips in one line: ``N × reason, e.g. example, example; ...``."""
        return "; ".join(f"{n} × {reason}, e.g. {', '.join(self.examples[reason])}"
                         for reason, n in self.dropped.items())

    def face_set(self, source: str, skipped: str) -> FaceSet:
        """The faces as a :class:`FaceSet` (the caller has checked there are some), warning once about
        the ``skipped`` inputs (e.g. "corrupt row(s)") if any."""
        if self.dropped:
            warnings.warn(f"{source}: skipped {sum(self.dropped.values())} {skipped}: {self.problems()}",
                          stacklevel=4)
        return FaceSet(images=np.stack(self.images), labels=np.array(self.labels, dtype=np.int64),
                       split=np.array(self.splits, dtype=np.int8), source=source, dropped=self.dropped)
