"""Checkpoints that carry their own metadata: labels, preprocessing, data and metrics.

A checkpoint is a ``torch.save`` dict::

    {"format": "edgeemo-checkpoint", "format_version": 1, "meta": {...},
     "state_dict": {...}, "train_state": {...} or absent}

``meta`` is plain JSON-able data, so it can be copied into exported model files as is.
"""

from __future__ import annotations

import hashlib
import os
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


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for damaged files
        raise ModelFileError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not an edgeemo checkpoint (no 'format: {FORMAT}' entry); "
            "for raw torchvision weights use 'edgeemo train --init'"
        )
    if obj.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by a newer edgeemo (format {obj['format_version']}); upgrade edgeemo")
    return obj


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
    if not path.exists():
        raise ModelFileError(f"{path}: no such weights file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelFileError(f"{path}: not a readable torch state dict ({exc})") from exc
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
