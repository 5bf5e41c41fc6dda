"""Real face batches for INT8 calibration and for choosing a quantization recipe.

Calibration uses FER2013 *Training* faces (never the test splits), sampled per class so rare
classes (disgust) are represented; the recipe is chosen on *PublicTest*; PrivateTest stays
untouched for the final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import FaceSet, load_dataset
from ..errors import DataError
from ..preprocess import Preprocess


@dataclass
class QuantData:
    calib: np.ndarray  # N×C×H×W float32, preprocessed Training faces
    val_images: np.ndarray  # uint8 PublicTest faces
    val_labels: np.ndarray
    source: str


def stratified_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """About ``n`` indices with every class present in proportion, at least a few each."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    out = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        k = max(8, round(n * len(idx) / len(labels)))
        out.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    picked = np.concatenate(out)
    rng.shuffle(picked)
    return picked


def load_quant_data(
    data: str | Path | FaceSet, pre: Preprocess, n_calib: int = 512, n_val: int | None = None, seed: int = 0
) -> QuantData:
    fs = data if isinstance(data, FaceSet) else load_dataset(data)
    has_splits = (fs.split == 0).any() and (fs.split == 1).any()
    if has_splits:
        train, val = fs.get_split("Training"), fs.get_split("PublicTest")
    else:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(fs))
        cut = len(fs) // 2
        first = np.isin(np.arange(len(fs)), perm[:cut])
        train, val = fs.subset(first), fs.subset(~first)
    if len(train) < 32:
        raise DataError(f"{fs.source}: only {len(train)} faces to calibrate INT8 on; give a larger --data")
    calib = pre(train.images[stratified_indices(train.labels, n_calib, seed)])
    if n_val and n_val < len(val):
        keep = stratified_indices(val.labels, n_val, seed + 1)
        val = val.subset(np.isin(np.arange(len(val)), keep))
    return QuantData(calib=calib, val_images=val.images, val_labels=val.labels, source=fs.source)
