"""Where model references point: ``default``, a registry name, or a file path.

A registry name (``cnn2``) is looked up only in folders edgeemo was told about or ships with —
``$EDGEEMO_MODELS`` and the repository's ``benchmarks/weights`` — never in the working folder:
a ``runs/cnn2/best.pt`` left there (or planted there) is used only when named as a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_MODEL = ASSETS / "edgenet.onnx"  # FP32
DEFAULT_INT8_MODEL = ASSETS / "edgenet.int8.onnx"  # the same model, calibrated INT8
MODELS_ENV = "EDGEEMO_MODELS"
REGISTRY_NAMES = ("edgenet", "fastnet", "cnn1", "cnn2", "resnet50", "vgg16")
REPO_WEIGHTS = Path(__file__).resolve().parent.parent / "benchmarks" / "weights"  # source checkouts


@dataclass(frozen=True)
class ResolvedModel:
    """A model file and, in words, where the reference was found."""

    path: Path
    origin: str
    registry: bool = False


def search_dirs() -> list[tuple[Path, str]]:
    """Folders searched for trained checkpoints of registry names, in order, with their names."""
    dirs = []
    if os.environ.get(MODELS_ENV):
        dirs.append((Path(os.environ[MODELS_ENV]).expanduser(), f"${MODELS_ENV}"))
    return dirs + [(REPO_WEIGHTS, "the repository's benchmarks/weights")]


def locate_model(ref: str | Path) -> ResolvedModel:
    """Turn ``default``, a registry name (``cnn2``) or a path into an existing model file.

    A registry name finds ``<dir>/<name>/best.pt`` or ``<dir>/<name>.pt`` in ``$EDGEEMO_MODELS``,
    then the repository's ``benchmarks/weights``. A checkpoint ``edgeemo train`` wrote under
    ``runs/`` is used by naming it: ``--model runs/cnn2/best.pt``.
    """
    ref_s = str(ref)
    if ref_s == "default":
        if not DEFAULT_MODEL.exists():
            raise ModelFileError(f"the shipped default model {DEFAULT_MODEL} is missing; reinstall edgeemo")
        return ResolvedModel(DEFAULT_MODEL, "the shipped default model", True)
    if ref_s.lower() in REGISTRY_NAMES and not isinstance(ref, Path):
        name = ref_s.lower()
        tried = []
        for d, label in search_dirs():
            for cand in (d / name / "best.pt", d / f"{name}.pt"):
                tried.append(str(cand))
                if cand.is_file():
                    return ResolvedModel(cand, f"registry name '{name}', found in {label}", True)
        raise ModelFileError(
            f"no trained '{name}' checkpoint found (looked in {', '.join(tried)}); train one with "
            f"'edgeemo train --model {name} --data fer2013.npz' and pass its path (--model runs/{name}/best.pt), "
            f"or set {MODELS_ENV} to a folder holding {name}.pt"
        )
    path = Path(ref_s).expanduser()
    if path.is_file():
        return ResolvedModel(path, "the file given")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; give a model file (.onnx, .xml, .engine or .pt) inside it")
    raise ModelFileError(f"{ref_s}: no such model file, and not 'default' or one of {', '.join(REGISTRY_NAMES)}")


def resolve_model(ref: str | Path) -> Path:
    """The model file ``ref`` names (see :func:`locate_model`)."""
    return locate_model(ref).path


def describe_model(ref: str | Path) -> str:
    """One line saying which file a reference resolved to and from where (printed by the commands)."""
    loc = locate_model(ref)
    return f"model {ref}: {loc.path} ({loc.origin})"
