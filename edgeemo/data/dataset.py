"""The in-memory face set every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..labels import CLASSES

SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
_SPLIT_ALIASES = {
    "training": 0, "train": 0,
    "publictest": 1, "public": 1, "val": 1, "validation": 1,
    "privatetest": 2, "private": 2, "test": 2,
}


def split_index(name: str) -> int:
    """Index in :data:`SPLITS` of a split name (``train``, ``val`` and ``test`` accepted)."""
    key = name.replace("_", "").replace("-", "").lower()
    if key not in _SPLIT_ALIASES:
        raise DataError(f"unknown split {name!r}; use one of {', '.join(SPLITS)} (or train/val/test)")
    return _SPLIT_ALIASES[key]


@dataclass
class FaceSet:
    """Face crops with FER7 labels.

    ``images`` is N×H×W uint8 (grayscale); ``labels`` holds indices into
    :data:`edgeemo.labels.CLASSES`; ``split`` indexes :data:`SPLITS` (``-1`` when the source
    has no split); ``soft`` optionally holds N×7 label distributions (FER+ votes).
    ``dropped`` counts rows a loader left out, by reason, so nothing is dropped silently.
    ``names`` holds row names by kind (e.g. ``ferplus_image_name``: N strings each), for
    matching rows with answers or labels kept elsewhere.
    """

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    source: str
    soft: np.ndarray | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    names: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise DataError(
                f"{self.source}: images must be N×H×W uint8, got {self.images.dtype} {self.images.shape}"
            )
        for name, arr in (("labels", self.labels), ("split", self.split), *self.names.items()):
            if len(arr) != n:
                raise DataError(f"{self.source}: {name} has {len(arr)} rows but images has {n}")
        if self.soft is not None and self.soft.shape != (n, len(CLASSES)):
            raise DataError(f"{self.source}: soft labels must be {n}×{len(CLASSES)}, got {self.soft.shape}")
        bad = (self.labels < -1) | (self.labels >= len(CLASSES))
        if bad.any():
            raise DataError(
                f"{self.source}: {int(bad.sum())} labels are outside 0..{len(CLASSES) - 1} "
                f"(first at row {int(np.flatnonzero(bad)[0])})"
            )

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, mask: np.ndarray) -> FaceSet:
        return FaceSet(
            images=self.images[mask],
            labels=self.labels[mask],
            split=self.split[mask],
            source=self.source,
            soft=None if self.soft is None else self.soft[mask],
            dropped=dict(self.dropped),
            names={k: v[mask] for k, v in self.names.items()},
        )

    def get_split(self, name: str | None) -> FaceSet:
        """Rows of one split (all rows when ``name`` is None or ``all``)."""
        if name is None or name.lower() == "all":
            return self
        idx = split_index(name)
        if (self.split < 0).all():
            raise DataError(
                f"{self.source} has no split information, so split {name!r} cannot be chosen; "
                "use --split all"
            )
        sub = self.subset(self.split == idx)
        if len(sub) == 0:
            raise DataError(f"{self.source} has no rows in split {SPLITS[idx]}")
        return sub

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(CLASSES))
        return {c: int(n) for c, n in zip(CLASSES, counts)}

    def split_counts(self) -> dict[str, int]:
        out = {}
        for i, s in enumerate(SPLITS):
            n = int((self.split == i).sum())
            if n:
                out[s] = n
        if (self.split < 0).any():
            out["unsplit"] = int((self.split < 0).sum())
        return out
