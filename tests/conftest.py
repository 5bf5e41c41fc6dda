"""Shared fixtures. Real data comes from $EDGEEMO_DATA (set by .ci/run); tests that need it
skip with a stated reason where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA_ENV = "EDGEEMO_DATA"


def _data_dir() -> Path | None:
    value = os.environ.get(DATA_ENV)
    if not value:
        return None
    path = Path(value)
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if path is None:
        pytest.skip(f"real data not found: set {DATA_ENV} to the folder holding fer2013.npz and muxspace48.npz")
    return path


@pytest.fixture(scope="session")
def fer_npz(data_dir: Path) -> Path:
    path = data_dir / "fer2013.npz"
    if not path.exists():
        pytest.skip(f"{path} is missing ({DATA_ENV} points at a folder without fer2013.npz)")
    return path


@pytest.fixture(scope="session")
def mux_npz(data_dir: Path) -> Path:
    path = data_dir / "muxspace48.npz"
    if not path.exists():
        pytest.skip(f"{path} is missing ({DATA_ENV} points at a folder without muxspace48.npz)")
    return path


@pytest.fixture(scope="session")
def fer_sample(fer_npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, class-stratified sample of 700 PublicTest faces (100 per class where possible)."""
    from edgeemo.data import load_dataset

    fs = load_dataset(fer_npz).get_split("PublicTest")
    rng = np.random.default_rng(0)
    idx = np.concatenate([
        rng.choice(np.flatnonzero(fs.labels == c), size=min(100, int((fs.labels == c).sum())), replace=False)
        for c in range(7)
    ])
    return fs.images[idx], fs.labels[idx]


def synthetic_faces(n: int, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generated stand-in images (not faces) with labels, for format tests."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, size, size), dtype=np.uint8), rng.integers(0, 7, size=n).astype(np.int64)


REPO = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO / "benchmarks" / "weights" / "deepnet_ferplus.pt"  # what the shipped default is built from


@pytest.fixture(scope="session")
def default_checkpoint() -> Path:
    """The shipped default model's torch checkpoint (the reference for parity tests)."""
    pytest.importorskip("torch", reason="torch (the 'train' extra) is needed for the torch reference")
    if not DEFAULT_CHECKPOINT.exists():
        pytest.skip(f"{DEFAULT_CHECKPOINT} is missing")
    return DEFAULT_CHECKPOINT
