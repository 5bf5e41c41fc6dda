"""Where model references point: a shipped model (``default``, ``fast``), a registry name, or a file path.

A registry name (``cnn2``) is looked up only in folders edgeemo was told about or ships with —
``$EDGEEMO_MODELS`` and the repository's ``benchmarks/weights`` — never in the working folder:
a ``runs/cnn2/best.pt`` left there (or planted there) is used only when named as a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError, require
from .filehash import file_sha256
from .modelmeta import read_onnx_meta
from .models import REGISTRY

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class ShippedModel:
    """A model that comes inside the package, as FP32 and calibrated INT8 ONNX of the same weights,
    with ``record``, the build record (checkpoint, command, SHA-256 and PublicTest figures of both files)."""

    name: str
    fp32: Path
    int8: Path
    record: Path
    summary: str


SHIPPED: dict[str, ShippedModel] = {
    "default": ShippedModel("default", ASSETS / "deepnet_ferplus.onnx", ASSETS / "deepnet_ferplus.int8.onnx",
                            ASSETS / "default_model.json",
                            "deepnet trained on FER+ votes, distilled from a teacher ensemble, prior-adjusted"),
    "fast": ShippedModel("fast", ASSETS / "fastnet.onnx", ASSETS / "fastnet.int8.onnx", ASSETS / "fast_model.json",
                         "fastnet distilled from the FER+ edgenet, a quarter of its multiply-adds"),
}
DEFAULT_MODEL = SHIPPED["default"].fp32
DEFAULT_INT8_MODEL = SHIPPED["default"].int8
MODELS_ENV = "EDGEEMO_MODELS"
REGISTRY_NAMES: tuple[str, ...] = tuple(REGISTRY)  # the models `edgeemo train` can train
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
    """Turn a shipped name (``default``, ``fast``: its FP32 file), a registry name (``cnn2``) or a path
    into an existing model file.

    A registry name finds ``<dir>/<name>/best.pt`` or ``<dir>/<name>.pt`` in ``$EDGEEMO_MODELS``,
    then the repository's ``benchmarks/weights``. A checkpoint ``edgeemo train`` wrote under
    ``runs/`` is used by naming it: ``--model runs/cnn2/best.pt``.
    """
    ref_s = str(ref)
    if ref_s in SHIPPED and not isinstance(ref, Path):
        shipped = SHIPPED[ref_s]
        if not shipped.fp32.exists():
            raise ModelFileError(f"the shipped {ref_s} model {shipped.fp32} is missing; reinstall edgeemo")
        return ResolvedModel(shipped.fp32, f"the shipped {ref_s} model", True)
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
    raise ModelFileError(f"{ref_s}: no such model file, and not one of {', '.join((*SHIPPED, *REGISTRY_NAMES))}")


def resolve_model(ref: str | Path) -> Path:
    """The model file ``ref`` names (see :func:`locate_model`)."""
    return locate_model(ref).path


def describe_model(ref: str | Path) -> str:
    """One line saying which file a reference resolved to and from where (printed by the commands)."""
    loc = locate_model(ref)
    if str(ref) in SHIPPED and not isinstance(ref, Path):
        s = SHIPPED[str(ref)]
        return f"model {ref}: {loc.origin}, {s.summary} ({s.fp32.name}, {s.int8.name}; INT8 where measured faster)"
    return f"model {ref}: {loc.path} ({loc.origin})"


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
