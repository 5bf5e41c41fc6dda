"""The canonical label schema and the mappings from other datasets into it.

edgeemo speaks the 7 FER2013 classes in the Kaggle/ICML-2013 order everywhere. Other
datasets are mapped into it by name; a class with no FER2013 counterpart (FER+'s
``contempt``, ``unknown`` and ``NF``) maps to :data:`EXCLUDED` and is dropped by the loaders,
which count what they drop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(CLASSES)
EXCLUDED = -1

# Every spelling edgeemo accepts for a class name, lower-case.
_SYNONYMS: dict[str, int] = {
    "angry": 0, "anger": 0,
    "disgust": 1, "disgusted": 1,
    "fear": 2, "fearful": 2, "afraid": 2,
    "happy": 3, "happiness": 3, "joy": 3,
    "sad": 4, "sadness": 4,
    "surprise": 5, "surprised": 5,
    "neutral": 6, "calm": 6,
    "contempt": EXCLUDED, "unknown": EXCLUDED, "nf": EXCLUDED,
}

# The label sets a face set can be scored against, and how every output names them.
LABEL_SETS: dict[str, str] = {
    "fer2013": "FER2013 labels",
    "ferplus": "FER+ majority labels (10 annotators; faces without a majority left out)",
}


def label_set_name(labels: str) -> str:
    """How outputs name a label set (``fer2013``, ``ferplus``, ``answers``)."""
    return LABEL_SETS.get(labels, "the answers file's own labels" if labels == "answers" else labels)


FERPLUS_CLASSES: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
# FER+ vote columns: the 8 classes, then "unknown" and "NF" (not a face).
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = FERPLUS_CLASSES + ("unknown", "NF")
AFFECTNET_CLASSES: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise",
)
MUXSPACE_CLASSES: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
)


def class_index(name: str) -> int:
    """Index of a class name in :data:`CLASSES` (``EXCLUDED`` for contempt and the like)."""
    key = name.strip().lower()
    if key not in _SYNONYMS:
        raise KeyError(
            f"unknown emotion class {name!r}; edgeemo knows {', '.join(sorted(_SYNONYMS))}"
        )
    return _SYNONYMS[key]


def mapping_from(names: Sequence[str]) -> np.ndarray:
    """Index array mapping a dataset's class order onto :data:`CLASSES` (``-1`` = excluded)."""
    return np.array([class_index(n) for n in names], dtype=np.int64)


FERPLUS_TO_FER7 = mapping_from(FERPLUS_CLASSES)
AFFECTNET_TO_FER7 = mapping_from(AFFECTNET_CLASSES)
MUXSPACE_TO_FER7 = mapping_from(MUXSPACE_CLASSES)


def remap(labels: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Map integer labels given in ``names``' order to FER7 indices (``-1`` for excluded)."""
    labels = np.asarray(labels)
    table = mapping_from(names)
    out = np.full(labels.shape, EXCLUDED, dtype=np.int64)
    valid = (labels >= 0) & (labels < len(table))
    out[valid] = table[labels[valid]]
    return out


def ferplus_soft_labels(votes: np.ndarray) -> np.ndarray:
    """FER+ crowd votes (N×10 or N×8) to a distribution over :data:`CLASSES`.

    Votes for contempt, unknown and NF are dropped; a row with no vote left is all zeros.
    """
    votes = np.asarray(votes, dtype=np.float64)
    if votes.ndim != 2 or votes.shape[1] not in (8, 10):
        raise ValueError(f"FER+ votes must be N×10 (or N×8), got shape {votes.shape}")
    out = np.zeros((votes.shape[0], NUM_CLASSES), dtype=np.float64)
    for col, target in enumerate(FERPLUS_TO_FER7):
        if target != EXCLUDED:
            out[:, target] += votes[:, col]
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out.astype(np.float32)


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """FER+ majority rule, as in Microsoft's FERPlus reference code, as FER7 indices.

    Single votes are discarded as outliers; a face is kept when its top class then holds
    more than half of the remaining votes and is not contempt, unknown or NF; else ``-1``.
    """
    votes = np.asarray(votes, dtype=np.float64)
    if votes.ndim != 2 or votes.shape[1] != 10:
        raise ValueError(f"FER+ votes must be N×10, got shape {votes.shape}")
    votes = np.where(votes <= 1.0, 0.0, votes)
    top = votes.argmax(axis=1)
    strong = votes.max(axis=1) > 0.5 * votes.sum(axis=1)
    out = np.full(votes.shape[0], EXCLUDED, dtype=np.int64)
    keep = strong & (top < 8)
    out[keep] = FERPLUS_TO_FER7[top[keep]]
    return out
