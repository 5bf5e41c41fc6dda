"""Where model references point: ``default``, a registry name, or a file path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError, require
from .filehash import file_sha256
from .modelmeta import read_onnx_meta
from .models import REGISTRY

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_MODEL = ASSETS / "edgenet.onnx"
MODELS_ENV = "EDGEEMO_MODELS"
REGISTRY_NAMES: tuple[str, ...] = tuple(REGISTRY)  # the models `edgeemo train` can train
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


@dataclass(frozen=True)
class ModelIdentity:
    """What a model file is, read from its own metadata.

    ``weights_sha256`` hashes the weights themselves: a checkpoint and every ONNX file exported
    from it share it, so it keys the artifacts built from either (:mod:`edgeemo.export.cache`).
    """

    name: str  # the registry model it is (edgenet, cnn1, ...)
    weights_sha256: str
    precision: str = "fp32"
    tta: str = "none"  # test-time augmentation baked into the graph
    macs: int | None = None  # multiply-adds per face, where the metadata has them

    def cache_key(self) -> str:
        """A short folder name for what is built from these weights (and TTA)."""
        return self.weights_sha256[:12] + ("" if self.tta == "none" else f"-tta-{self.tta}")


def model_identity(path: str | Path) -> ModelIdentity:
    """The :class:`ModelIdentity` of a model file (a checkpoint needs the ``train`` extra)."""
    path = Path(path)
    if path.suffix in (".pt", ".pth"):
        require("torch", "train", f"Reading the checkpoint {path.name}")
        from .training.checkpoint import load_checkpoint, state_dict_sha256

        ck = load_checkpoint(path)
        meta = ck["meta"]
        return ModelIdentity(str(meta.get("model")), state_dict_sha256(ck["state_dict"]), "fp32",
                             macs=meta.get("macs"))
    if path.suffix == ".onnx":
        meta = read_onnx_meta(path)
    else:
        from .backends import open_backend

        with open_backend(path) as be:
            meta = be.meta
    macs = meta.info.get("macs")
    return ModelIdentity(meta.model, meta.source_sha256 or file_sha256(path), meta.precision,
                         str(meta.info.get("tta") or "none"), macs if isinstance(macs, int) else None)


def model_name(path: str | Path) -> str:
    """The registry model a file holds, as its metadata says (one rule for every file type)."""
    return model_identity(path).name
