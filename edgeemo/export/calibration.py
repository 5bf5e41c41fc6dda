"""Real face batches for INT8 calibration and for choosing a quantization recipe.

Calibration uses FER2013 *Training* faces (never the test splits), sampled per class so rare
classes (disgust) are represented; the recipe is chosen on *PublicTest*; PrivateTest stays
untouched for the final report (see :func:`edgeemo.selection.fit_and_select_sets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import FaceSet, load_dataset
from ..errors import DataError
from ..preprocess import Preprocess
from ..selection import fit_and_select_sets, stratified_indices, stratified_subset


@dataclass
class QuantData:
    calib: np.ndarray  # N×C×H×W float32, preprocessed Training faces
    val_images: np.ndarray  # uint8 PublicTest faces
    val_labels: np.ndarray
    source: str


def load_quant_data(
    data: str | Path | FaceSet, pre: Preprocess, n_calib: int = 512, n_val: int | None = None, seed: int = 0
) -> QuantData:
    fs = data if isinstance(data, FaceSet) else load_dataset(data)
    train, val, _ = fit_and_select_sets(fs, seed)
    if len(train) < 32:
        raise DataError(f"{fs.source}: only {len(train)} faces to calibrate INT8 on; give a larger --data")
    calib = pre(train.images[stratified_indices(train.labels, n_calib, seed)])
    if n_val:
        val = stratified_subset(val, n_val, seed + 1)
    return QuantData(calib=calib, val_images=val.images, val_labels=val.labels, source=fs.source)
