"""Dataset loaders. Every loader returns a :class:`FaceSet` in the FER2013 label order."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..labels import LABEL_SETS
from .dataset import SPLITS, FaceSet, split_index
from .npz import load_npz


def load_dataset(path: str | Path, *, labels: str = "fer2013") -> FaceSet:
    """Load a face set, choosing the reader from what ``path`` is; ``labels`` is a key of
    :data:`edgeemo.labels.LABEL_SETS` (``ferplus``: the FER+ majority, from an .npz with FER+ votes).

    * ``*.npz`` — :func:`load_npz`
    * ``*.csv`` — Kaggle ``fer2013.csv`` (:func:`load_fer2013_csv`)
    * a folder — the Kaggle image-folder release (``train/``, ``test/``) or any
      folder-per-class image set (:func:`load_image_folder`)
    """
    path = Path(path)
    if labels not in LABEL_SETS:
        raise DataError(f"unknown label set {labels!r}; use {' or '.join(LABEL_SETS)}")
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder. Point --data at fer2013.npz, Kaggle's fer2013.csv "
            "or an image folder (see the README, section 'Data')"
        )
    if labels != "fer2013" and (path.is_dir() or path.suffix.lower() != ".npz"):
        raise DataError(f"{path}: FER+ labels come from an .npz with FER+ votes ('ferplus_majority', as in "
                        "fer2013.npz); this data has FER2013 labels only")
    if path.is_dir():
        from .folders import load_image_folder

        return load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path, labels=labels)
    if suffix == ".csv":
        from .fer_csv import load_fer2013_csv

        return load_fer2013_csv(path)
    raise DataError(f"{path}: unknown data format {suffix!r}; edgeemo reads .npz, .csv and image folders")


__all__ = ["FaceSet", "SPLITS", "split_index", "load_dataset", "load_npz"]
