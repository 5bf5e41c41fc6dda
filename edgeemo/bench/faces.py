"""The labelled faces a bench scores, saved once for the measuring processes (:func:`save_faces`) or,
with calibration samples, for a board over SSH (:func:`write_subset`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import SPLITS
from ..selection import select_faces, stratified_subset

CALIB_VAL = 1000  # PublicTest faces shipped for choosing the INT8 recipe on the board


def save_faces(data: str | Path, split: str | None, limit: int | None, dest: Path, labels: str = "fer2013") -> dict:
    """Select the faces once (split, first ``limit``, label set) and save them for the workers, with
    their row names as ``names_KIND`` (for rows matched by name)."""
    sel = select_faces(data, split=split or "auto", limit=limit, labels=labels)
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dest, images=sel.faces.images, labels=sel.faces.labels.astype(np.int64),
             **{f"names_{k}": v for k, v in sel.faces.names.items()})
    return {**sel.describe(), "path": str(data), "faces": str(dest)}


def write_subset(data: str | Path, split: str | None, limit: int | None, dest: Path, n_calib: int = 512,
                 n_val: int = CALIB_VAL) -> dict:
    """The faces the board needs: the evaluated split (first ``limit``) and, where the data has
    splits, a stratified Training sample (INT8 calibration) and PublicTest sample (recipe choice)."""
    sel = select_faces(data, split=split or "auto", limit=limit)
    fs, ev, split = sel.full, sel.faces, sel.split
    parts = [(ev.images, ev.labels, ev.split)]
    if (fs.split == 0).any() and (fs.split == 1).any() and split != "all":
        for name, n in (("Training", n_calib), ("PublicTest", n_val)):
            if name == split:
                continue
            s = stratified_subset(fs.get_split(name), n)
            parts.append((s.images, s.labels, s.split))
    np.savez_compressed(dest, images=np.concatenate([p[0] for p in parts]),
                        labels_fer7=np.concatenate([p[1] for p in parts]).astype(np.int8),
                        split_id=np.concatenate([p[2] for p in parts]).astype(np.int8),
                        split_names=np.array(SPLITS))
    return {"path": str(data), "split": split, "limit": limit, "n": len(ev)}
