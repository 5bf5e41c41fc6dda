"""Logit adjustment: shift a trained model's class prior into its last layer's bias.

A model trained on FER+ vote distributions learns FER+'s class prior, in which neutral and happy
hold 62% of the faces and fear 3%. Subtracting ``tau * log(prior)`` from its logits (Menon et al.
2021, "Long-tail learning via logit adjustment") moves it towards a classifier that treats the classes
alike; ``tau`` trades overall accuracy for balanced accuracy. The shift is folded into the bias of
the final linear layer, so exported files need no extra step at inference and carry the choice in
their metadata. ``tau`` is chosen on PublicTest, never on PrivateTest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..data import FaceSet, load_dataset
from ..errors import EdgeemoError
from ..metrics import classification_metrics
from ..models import build_model, get_spec
from .checkpoint import load_checkpoint, save_checkpoint
from .trainer import fit_size, predict_logits, split_train_val

TAUS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))


def training_prior(train_set: FaceSet) -> np.ndarray:
    """The class prior the model learned: the mean of its soft targets, else the label frequencies."""
    if train_set.soft is not None and (train_set.soft.sum(1) > 0).all():
        prior = train_set.soft.mean(0).astype(np.float64)
    else:
        prior = np.bincount(train_set.labels, minlength=7).astype(np.float64)
    prior = np.maximum(prior, 1e-4)
    return prior / prior.sum()


def final_linear(model: torch.nn.Module) -> torch.nn.Linear:
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not layers or layers[-1].bias is None:
        raise EdgeemoError("logit adjustment needs a model whose last layer is a linear layer with a bias")
    return layers[-1]


def choose_tau(logits: np.ndarray, labels: np.ndarray, prior: np.ndarray, max_accuracy_drop: float,
               taus: Sequence[float] = TAUS) -> tuple[float, list[dict]]:
    """The tau with the best balanced accuracy whose accuracy is within ``max_accuracy_drop`` of tau = 0."""
    rows = []
    for tau in taus:
        m = classification_metrics(labels, (logits - tau * np.log(prior)).argmax(1))
        rows.append({"tau": tau, "accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"],
                     "macro_f1": m["macro_f1"]})
    floor = rows[0]["accuracy"] - max_accuracy_drop
    ok = [r for r in rows if r["accuracy"] >= floor]
    best = max(ok, key=lambda r: r["balanced_accuracy"])
    return best["tau"], rows


def stored_adjustment(path: str | Path, record: object, n_classes: int) -> tuple[float, np.ndarray] | None:
    """The (tau, prior) a checkpoint was adjusted with, checked: the file may come from anyone."""
    if record is None:
        return None
    try:
        tau = float(record["tau"])
        prior = np.asarray(record["prior"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise EdgeemoError(f"{path}: its logit_adjustment record is damaged ({exc!r}); "
                           "adjust the unadjusted checkpoint instead") from None
    if not np.isfinite(tau) or prior.shape != (n_classes,) or not (np.isfinite(prior).all() and (prior > 0).all()):
        raise EdgeemoError(f"{path}: its logit_adjustment record is damaged (tau {tau!r}, prior of shape "
                           f"{prior.shape}); adjust the unadjusted checkpoint instead")
    return tau, prior


def adjust_prior(
    checkpoint: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    tau: float | None = None,
    max_accuracy_drop: float = 0.005,
    log: Callable[[str], None] = print,
) -> dict:
    """Write ``out``: ``checkpoint`` with ``-tau * log(prior)`` folded into its last bias.

    With ``tau=None`` the tau is chosen on the validation split (PublicTest) by :func:`choose_tau`.
    A checkpoint that is already adjusted is first taken back by its stored record, so the new tau
    replaces the old one (``tau=0`` gives the unadjusted model back).
    Returns the record stored in the new checkpoint's metadata under ``logit_adjustment``.
    """
    ck = load_checkpoint(checkpoint)
    meta = dict(ck["meta"])
    model = build_model(meta["model"])
    model.load_state_dict(ck["state_dict"])
    bias = final_linear(model).bias
    previous = stored_adjustment(checkpoint, meta.pop("logit_adjustment", None), bias.numel())
    if previous is not None:  # back to the unadjusted model first, so that adjustments never stack
        with torch.no_grad():
            bias += torch.from_numpy(previous[0] * np.log(previous[1])).float()
    labels = meta.get("config", {}).get("labels", "fer2013")
    pre = get_spec(meta["model"]).preprocess
    train_set, val_set, val_name = split_train_val(load_dataset(data, labels=labels), 0)
    prior = training_prior(train_set)
    fit_size(val_set, pre)
    chosen, scan = choose_tau(predict_logits(model, val_set.images, pre), val_set.labels, prior, max_accuracy_drop)
    tau = chosen if tau is None else float(tau)
    with torch.no_grad():
        bias -= torch.from_numpy(tau * np.log(prior)).float()
    record = {"tau": tau, "prior": [round(float(p), 6) for p in prior], "labels": labels, "val_split": val_name,
              "chosen_on_val": tau == chosen, "max_accuracy_drop": max_accuracy_drop, "scan": scan,
              "replaced_tau": None if previous is None else previous[0]}
    meta["logit_adjustment"] = record
    save_checkpoint(out, model.state_dict(), meta)
    for r in scan:
        log(f"tau {r['tau']:.1f}  {val_name} ({labels}) acc {r['accuracy']:.4f}  balanced {r['balanced_accuracy']:.4f}"
            f"  macro-F1 {r['macro_f1']:.4f}{'  <- chosen' if r['tau'] == tau else ''}")
    log(f"wrote {out}")
    return record
