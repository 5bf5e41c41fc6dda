"""Weight averaging: one model from several checkpoints of the same run, at no inference cost.

Averaging the weights of snapshots taken along a training trajectory (stochastic weight
averaging, Izmailov et al. 2018) lands nearer the centre of a flat region of the loss than
any single snapshot and usually generalises better. Batch-norm statistics of the averaged
weights are not the average of the snapshots' statistics, so they are recomputed with one
pass over Training faces, augmented as the run was trained: the layers after each batch norm
learned the statistics of augmented faces, and clean-face statistics cost a model trained with
the ``photos`` augmentation 0.4 point on PublicTest. The result is scored on PublicTest only
(model selection), never on PrivateTest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..data import load_dataset
from ..errors import EdgeemoError
from ..models import build_model, get_spec
from .augment import PRESETS, augment
from .checkpoint import load_checkpoint, save_checkpoint, state_dict_sha256
from .trainer import fit_size, split_train_val, to_tensor, validate


def average_state_dicts(states: Sequence[dict]) -> dict:
    """Element-wise mean of floating-point tensors; integer buffers are taken from the last state."""
    if not states:
        raise EdgeemoError("nothing to average: no checkpoints given")
    keys = set(states[0])
    for i, st in enumerate(states[1:], 1):
        if set(st) != keys:
            raise EdgeemoError(f"checkpoint {i} holds other tensors than checkpoint 0; average snapshots of one model")
    out = {}
    for k, v in states[-1].items():
        if v.is_floating_point():
            out[k] = torch.stack([st[k].float() for st in states]).mean(0)
        else:
            out[k] = v.clone()
    return out


def training_augmentation(meta: dict) -> str | None:
    """The name of the augmentation preset the checkpoint's run was trained with, if it is one of ours."""
    config = meta.get("config")
    try:
        stored = json.dumps(config.get("augment") if isinstance(config, dict) else None, sort_keys=True)
    except TypeError:  # a stranger's metadata holding something other than plain values
        return None
    return next((name for name, cfg in PRESETS.items() if json.dumps(asdict(cfg), sort_keys=True) == stored), None)


@torch.no_grad()
def augmented(x: torch.Tensor, preset: str, seed: int, batch_size: int = 256) -> torch.Tensor:
    """``x`` through the training augmentation ``preset``, seeded so the same call gives the same faces."""
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([augment(x[i : i + batch_size], PRESETS[preset], gen) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> int:
    """Recompute every BatchNorm's running mean/var as the exact average over ``x``."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the whole pass
    model.train()
    for i in range(0, len(x), batch_size):
        model(x[i : i + batch_size].contiguous(memory_format=torch.channels_last))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()
    return len(bns)


def average_checkpoints(
    paths: Sequence[str | Path],
    data: str | Path,
    out: str | Path,
    *,
    bn_faces: int | None = None,
    threads: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict:
    """Average ``paths`` into one checkpoint at ``out``; returns its PublicTest metrics."""
    if threads:
        torch.set_num_threads(threads)
    cks = [load_checkpoint(p) for p in paths]
    names = {ck["meta"].get("model") for ck in cks}
    if len(names) != 1 or None in names:
        raise EdgeemoError(f"can only average checkpoints of one registry model; got {sorted(map(str, names))}")
    name = names.pop()
    pre = get_spec(name).preprocess
    model = build_model(name).to(memory_format=torch.channels_last)
    model.load_state_dict(average_state_dicts([ck["state_dict"] for ck in cks]))

    labels = cks[-1]["meta"].get("config", {}).get("labels", "fer2013")  # select on the labels the run selected on
    fs = load_dataset(data, labels=labels)
    train_set, val_set, val_name = split_train_val(fs, seed)
    for d in (train_set, val_set):
        fit_size(d, pre)
    idx = np.arange(len(train_set))
    if bn_faces and bn_faces < len(idx):
        idx = np.sort(np.random.default_rng(seed).choice(idx, bn_faces, replace=False))
    x = to_tensor(train_set.images[idx], pre)
    preset = training_augmentation(cks[-1]["meta"])
    n_bn = recalibrate_batchnorm(model, augmented(x, preset, seed) if preset else x)
    log(f"averaged {len(cks)} checkpoints of {name}; batch-norm statistics of {n_bn} layers recomputed on "
        f"{len(idx)} Training faces, " + (f"augmented as in training ({preset})" if preset else
                                         "unaugmented (the run's augmentation is not one of edgeemo's presets)"))
    val = validate(model, val_set, pre)
    state = model.state_dict()
    meta = dict(cks[-1]["meta"])
    meta["averaged_from"] = [
        {"path": str(p), "epoch": ck["meta"].get("epoch"), "weights_sha256": state_dict_sha256(ck["state_dict"])}
        for p, ck in zip(paths, cks)
    ]
    meta["bn_recalibration_faces"] = len(idx)
    meta["bn_recalibration_augment"] = preset
    meta["metrics"] = {"val_split": val_name, "val_labels": labels, "val_accuracy": val["accuracy"],
                       "val_macro_f1": val["macro_f1"]}
    save_checkpoint(out, state, meta)
    log(f"{val_name} accuracy {val['accuracy']:.4f}, macro-F1 {val['macro_f1']:.4f} → {out}")
    return val
