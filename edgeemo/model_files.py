"""Where model references point: ``default``, a registry name, or a file path."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelFileError

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_MODEL = ASSETS / "edgenet.onnx"  # FP32
DEFAULT_INT8_MODEL = ASSETS / "edgenet.int8.onnx"  # the same model, calibrated INT8
MODELS_ENV = "EDGEEMO_MODELS"
REGISTRY_NAMES = ("edgenet", "fastnet", "cnn1", "cnn2", "resnet50", "vgg16")
REPO_WEIGHTS = Path(__file__).resolve().parent.parent / "benchmarks" / "weights"  # source checkouts


def search_dirs() -> list[Path]:
    """Folders searched for trained checkpoints of registry models, in order."""
    dirs = []
    if os.environ.get(MODELS_ENV):
        dirs.append(Path(os.environ[MODELS_ENV]))
    return dirs + [Path("runs"), REPO_WEIGHTS]


def resolve_model(ref: str | Path) -> Path:
    """Turn ``default``, a registry name (``cnn2``) or a path into an existing model file.

    A registry name finds ``<dir>/<name>/best.pt`` or ``<dir>/<name>.pt`` in
    ``$EDGEEMO_MODELS``, ``./runs`` (where ``edgeemo train`` writes) and the repository's
    ``benchmarks/weights``.
    """
    ref_s = str(ref)
    if ref_s == "default":
        if not DEFAULT_MODEL.exists():
            raise ModelFileError(f"the shipped default model {DEFAULT_MODEL} is missing; reinstall edgeemo")
        return DEFAULT_MODEL
    path = Path(ref_s).expanduser()
    if path.is_file():
        return path
    if ref_s.lower() in REGISTRY_NAMES:
        name = ref_s.lower()
        tried = []
        for d in search_dirs():
            for cand in (d / name / "best.pt", d / f"{name}.pt"):
                tried.append(str(cand))
                if cand.exists():
                    return cand
        raise ModelFileError(
            f"no trained '{name}' checkpoint found (looked in {', '.join(tried)}); "
            f"train one with 'edgeemo train --model {name} --data fer2013.npz' or pass a file path"
        )
    raise ModelFileError(f"{ref_s}: no such model file, and not 'default' or one of {', '.join(REGISTRY_NAMES)}")
