"""Checkpoints that carry their own metadata: labels, preprocessing, data and metrics.

A checkpoint is a ``torch.save`` dict::

    {"format": "edgeemo-checkpoint", "format_version": 1, "meta": {...},
     "state_dict": {...}, "train_state": {...} or absent}

``meta`` is plain JSON-able data, so it can be copied into exported model files as is.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelFileError

FORMAT = "edgeemo-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, state_dict: dict, meta: dict, train_state: dict | None = None) -> None:
    """Write atomically: an interrupted save never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    obj: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "meta": meta, "state_dict": state_dict,
    }
    if train_state is not None:
        obj["train_state"] = train_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def torch_load_weights_only(path: Path, what: str = "checkpoint"):
    """``torch.load`` that only rebuilds tensors and plain data (dicts, lists, numbers, strings).

    A model file comes from anywhere; a pickle that names other Python objects (a ``__reduce__``
    payload, a class, a function) is refused before anything in it runs.
    """
    if not path.is_file():
        raise ModelFileError(f"{path}: no such {what} file" if not path.exists() else f"{path}: not a file")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path}: the {what} file is empty (0 bytes); copy or write it again")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _unsafe_global(str(exc))
        what_is_wrong = (
            f"the file holds Python objects beyond tensors and plain data ({found}), and loading them could run code"
            if found else
            f"not a weights-only torch file ({_unpickler_reason(str(exc))}): it is damaged, or holds Python "
            "objects whose loading could run code"
        )
        raise ModelFileError(
            f"{path}: refused to load: {what_is_wrong}; edgeemo reads only weights-only torch files "
            "(re-save its state_dict from code you trust)"
        ) from None
    except Exception as exc:  # torch raises many types for damaged files
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelFileError(f"{path}: not a readable torch {what} ({type(exc).__name__}: {detail}); "
                             "is the file complete? Copy it again or re-export it") from None


def _unpickler_reason(message: str) -> str:
    """The reason in torch's weights-only error, without its advice to load the file unsafely."""
    m = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", message)
    return m.group(1).strip()[:120] if m else "unreadable"


def _unsafe_global(message: str) -> str | None:
    """The refused name in torch's weights-only error message, e.g. ``posix.system``."""
    m = re.search(r"GLOBAL ([\w.]+)", message)
    return m.group(1) if m else None


def load_checkpoint(path: str | Path) -> dict:
    """Load an edgeemo checkpoint (weights-only: nothing in the file is executed)."""
    path = Path(path)
    obj = torch_load_weights_only(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not an edgeemo checkpoint (no 'format: {FORMAT}' entry); "
            "for raw torchvision weights use 'edgeemo train --init'"
        )
    version = obj.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by a newer edgeemo (format {version!r}); upgrade edgeemo")
    if not isinstance(obj.get("meta"), dict) or not isinstance(obj.get("state_dict"), dict):
        raise ModelFileError(f"{path}: an edgeemo checkpoint without its 'meta' and 'state_dict' entries; "
                             "the file is damaged: write it again")
    return obj


def checkpoint_meta(path: Path, ck: dict):
    """The checkpoint's :class:`~edgeemo.modelmeta.ModelMeta` (a damaged ``meta`` is one clear error)."""
    from ..modelmeta import ModelMeta

    try:
        return ModelMeta.from_checkpoint_meta(ck["meta"], state_dict_sha256(ck["state_dict"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: its edgeemo metadata is incomplete or damaged ({exc!r}); "
                             "write the checkpoint again with 'edgeemo train' or 'edgeemo average'") from None


def model_from_checkpoint(path: str | Path):
    """The eval-mode torch model and its metadata from an edgeemo checkpoint."""
    from ..errors import EdgeemoError
    from ..models import build_model

    path = Path(path)
    ck = load_checkpoint(path)
    meta = checkpoint_meta(path, ck)
    try:
        model = build_model(meta.model)
        model.load_state_dict(ck["state_dict"])
    except (RuntimeError, TypeError, KeyError, AttributeError, EdgeemoError) as exc:
        raise ModelFileError(f"{path}: its weights do not fit edgeemo's {meta.model!r} model "
                             f"({str(exc).strip().splitlines()[0][:200]}); was it written by edgeemo?") from None
    return model.eval(), meta


def state_dict_sha256(state_dict: dict) -> str:
    """A hash of the weights themselves, independent of how the file was written."""
    h = hashlib.sha256()
    for k in sorted(state_dict):
        h.update(k.encode())
        h.update(state_dict[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def load_init_weights(model: torch.nn.Module, path: str | Path) -> tuple[list[str], list[str]]:
    """Load pretrained weights (e.g. torchvision ImageNet) by name, skipping shape mismatches.

    Returns (loaded, skipped) parameter names. A file that matches nothing is an error.
    """
    path = Path(path)
    obj = torch_load_weights_only(path, "weights")
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: holds a {type(obj).__name__}, not a state dict of named tensors")
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        obj = obj["state_dict"]
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    own = model.state_dict()
    loaded, skipped = [], []
    new = {}
    for k, v in obj.items():
        key = k.removeprefix("module.")
        if key in own and own[key].shape == v.shape:
            new[key] = v
            loaded.append(key)
        else:
            skipped.append(key)
    if not loaded:
        raise ModelFileError(f"{path}: none of its {len(obj)} tensors match this model's parameter names/shapes")
    own.update(new)
    model.load_state_dict(own)
    return loaded, skipped
