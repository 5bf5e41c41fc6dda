"""Which faces a job looks at: the split, the first ``limit`` rows, the label set.

Every command that scores faces (``eval``, ``compare``, ``bench``, ``vlm-eval``, INT8 recipe
choice, training's validation) selects them here, so "PrivateTest, first 500" means the same rows
everywhere. Protocol: fit on *Training*, choose on *PublicTest*, report *PrivateTest*.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import FaceSet, load_dataset
from .errors import DataError, EdgeemoError
from .labels import label_set_name


def default_split(fs: FaceSet) -> str | None:
    """PrivateTest where the data has splits (the protocol's report split), else all rows."""
    return "PrivateTest" if (fs.split == 2).any() else None


def resolve_split(fs: FaceSet, split: str | None) -> str | None:
    """``auto`` → :func:`default_split`; ``all``/None → None (every row); any other name as given."""
    if split == "auto":
        return default_split(fs)
    if split is None or split.lower() == "all":
        return None
    return split


def check_limit(limit: int | None) -> int | None:
    """``limit`` is None (every face) or a count of at least 1 (0 never means "all")."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1):
        raise EdgeemoError(f"limit must be at least 1 face (or None for all), got {limit!r}")
    return limit


def first(fs: FaceSet, limit: int | None) -> FaceSet:
    """The first ``limit`` rows (all of them when ``limit`` is None)."""
    return fs if check_limit(limit) is None else fs.subset(np.arange(len(fs)) < limit)


@dataclass(frozen=True)
class FaceSelection:
    """The faces to score (``faces``), the split they came from, and the whole set they were taken
    from (``full``: few-shot examples and calibration faces come from its other splits)."""

    faces: FaceSet
    split: str  # "PrivateTest", ..., or "all"
    full: FaceSet
    limit: int | None = None
    labels: str = "fer2013"

    def describe(self) -> dict:
        """What was selected, for a result's metadata."""
        return {"path": self.full.source, "split": self.split, "limit": self.limit, "n": len(self.faces),
                "labels": self.labels, "labels_description": label_set_name(self.labels)}


def select_faces(
    data: str | Path | FaceSet,
    *,
    split: str | None = "auto",
    limit: int | None = None,
    labels: str = "fer2013",
) -> FaceSelection:
    """Load ``data`` (a path, or an already loaded :class:`FaceSet`) and keep ``split``'s first
    ``limit`` faces. ``labels`` picks the label set of an ``.npz`` (``fer2013`` or ``ferplus``,
    the FER+ majority). An empty selection is an error naming the file."""
    check_limit(limit)
    full = data if isinstance(data, FaceSet) else load_dataset(data, labels=labels)
    name = resolve_split(full, split)
    faces = first(full.get_split(name), limit)
    if len(faces) == 0:
        raise DataError(f"{full.source}: no labelled faces to evaluate in split {name or 'all'}")
    return FaceSelection(faces, name or "all", full, limit, labels)


def stratified_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """About ``n`` indices with every class present in proportion, at least a few each."""
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(8, round(n * len(idx) / len(labels)))
        out.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    picked = np.concatenate(out)
    rng.shuffle(picked)
    return picked


def stratified_subset(fs: FaceSet, n: int, seed: int = 0) -> FaceSet:
    """A class-stratified sample of about ``n`` faces, in the set's own row order (all when fewer)."""
    if len(fs) <= n:
        return fs
    keep = np.zeros(len(fs), bool)
    keep[stratified_indices(fs.labels, n, seed)] = True
    return fs.subset(keep)


def fit_and_select_sets(fs: FaceSet, seed: int = 0) -> tuple[FaceSet, FaceSet, str]:
    """(faces to fit on, faces to choose on, the name of the latter).

    Training and PublicTest where the data has them; otherwise a seeded random 10% of the rows
    outside PrivateTest is held out for choosing. PrivateTest is never used for either.
    """
    if (fs.split == 0).any() and (fs.split == 1).any():
        return fs.get_split("Training"), fs.get_split("PublicTest"), "PublicTest"
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(fs.split != 2)
    rng.shuffle(pool)
    n_val = max(1, len(pool) // 10)
    val = np.zeros(len(fs), bool)
    val[pool[:n_val]] = True
    fit = np.zeros(len(fs), bool)
    fit[pool[n_val:]] = True
    return fs.subset(fit), fs.subset(val), "random 10% hold-out of the non-test rows"
