"""Training loop: FER2013 Training in, PublicTest for model selection, checkpoints out.

Protocol: fit on the ``Training`` split, keep the epoch with the best ``PublicTest``
accuracy (early stopping on it), never look at ``PrivateTest``. Each epoch writes
``last.pt`` (weights, optimizer, scheduler, RNG state) so an interrupted run resumes
exactly where it stopped, and ``best.pt`` (weights and metadata only) when it improves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import FaceSet, load_dataset
from ..errors import EdgeemoError
from ..labels import CLASSES
from ..metrics import classification_metrics
from ..models import build_model, get_spec
from ..models.complexity import count_macs, count_params
from ..preprocess import Preprocess
from ..version import code_version
from .augment import AugmentConfig, augment
from .checkpoint import file_sha256, load_checkpoint, load_init_weights, model_from_checkpoint, save_checkpoint


@dataclass
class TrainConfig:
    model: str
    epochs: int
    lr: float
    batch_size: int
    optimizer: str
    weight_decay: float
    label_smoothing: float
    patience: int
    soft_labels: float = 0.0  # weight of FER+ vote distributions mixed into the targets
    snapshots: bool = False  # also keep every epoch's weights as OUT/snap/epoch_N.pt (for `edgeemo average`)
    seed: int = 0
    limit: int | None = None  # use only the first N training faces (smoke runs)
    init: str | None = None
    labels: str = "fer2013"  # "ferplus": FER+ majority labels for selection (and vote distributions as targets)
    teacher: str | None = None  # checkpoint whose softened outputs the model also learns (knowledge distillation)
    distill: float = 0.5  # weight of the teacher's term when a teacher is given
    temperature: float = 2.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


WARMUP = 0.15  # share of the one-cycle schedule spent raising the learning rate


def one_cycle(opt: torch.optim.Optimizer, max_lr: float, epochs: int, steps_per_epoch: int):
    """The one-cycle schedule every run uses: 15% warm-up from max_lr/20, then cosine decay to max_lr/4000."""
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=epochs * steps_per_epoch, pct_start=WARMUP, div_factor=20,
        final_div_factor=200,
    )


def early_stop_armed(sched: torch.optim.lr_scheduler.OneCycleLR, max_lr: float) -> bool:
    """Whether an epoch without a new best counts towards the patience.

    Only once the schedule is past its peak and has decayed to half the peak rate: near the peak,
    PublicTest accuracy is expected to fall (above all in a warm restart from ``--init``, whose
    first epoch scores what the initial weights already knew), and stopping there would cut off
    the annealing that brings the gains.
    """
    return sched.last_epoch >= WARMUP * sched.total_steps and sched.get_last_lr()[0] <= max_lr / 2


@dataclass
class TrainResult:
    best_path: Path
    last_path: Path
    best_epoch: int
    best_val_accuracy: float
    epochs_run: int
    history: list[dict]


def make_config(model: str, **overrides) -> TrainConfig:
    """The model's registered recipe with any non-None overrides applied."""
    recipe = get_spec(model).recipe
    values = asdict(recipe)
    values.update({k: v for k, v in overrides.items() if v is not None and k in values})
    extra = {k: v for k, v in overrides.items() if v is not None and k not in values}
    cfg = TrainConfig(model=model, **values, **extra)
    for key in ("epochs", "batch_size", "patience"):
        v = getattr(cfg, key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise EdgeemoError(f"{key} must be a whole number of at least 1, got {v!r}")
    if cfg.limit is not None and cfg.limit < 1:
        raise EdgeemoError(f"limit must be at least 1 training face, got {cfg.limit!r}")
    if not cfg.lr > 0:
        raise EdgeemoError(f"the learning rate must be above 0, got {cfg.lr!r}")
    return cfg


def to_tensor(images: np.ndarray, spec: Preprocess) -> torch.Tensor:
    x = torch.from_numpy(images).float().unsqueeze(1).div_(255.0)
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    if spec.channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return (x - mean) / std


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: np.ndarray, spec: Preprocess, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        out.append(model(to_tensor(images[i : i + batch_size], spec)).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)


def _targets(fs: FaceSet, idx: np.ndarray, cfg: TrainConfig) -> torch.Tensor:
    y = torch.from_numpy(fs.labels[idx])
    onehot = F.one_hot(y, len(CLASSES)).float()
    if cfg.soft_labels > 0 and fs.soft is not None:
        soft = torch.from_numpy(fs.soft[idx])
        has = soft.sum(1, keepdim=True) > 0
        onehot = torch.where(has, (1 - cfg.soft_labels) * onehot + cfg.soft_labels * soft, onehot)
    if cfg.label_smoothing > 0:
        onehot = onehot * (1 - cfg.label_smoothing) + cfg.label_smoothing / len(CLASSES)
    return onehot


def load_teacher(path: str, pre: Preprocess) -> torch.nn.Module:
    """A trained checkpoint in eval mode, for distillation; it must read the same input as the student."""
    teacher, meta = model_from_checkpoint(path)  # weights-only, with clear errors for a foreign file
    if meta.preprocess != pre:
        raise EdgeemoError(f"{path}: the teacher's preprocessing differs from the student's; pick a teacher with the "
                           "same input size, channels and normalisation")
    return teacher


def batch_loss(logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor | None,
               cfg: TrainConfig) -> torch.Tensor:
    """Cross-entropy against the targets, plus (with a teacher) T²-scaled KL to the teacher's softened outputs."""
    ce = torch.sum(-targets * F.log_softmax(logits, 1), 1).mean()
    if teacher_logits is None:
        return ce
    t = cfg.temperature
    kl = F.kl_div(F.log_softmax(logits / t, 1), F.log_softmax(teacher_logits / t, 1), log_target=True,
                  reduction="batchmean")
    return (1 - cfg.distill) * ce + cfg.distill * t * t * kl


def fit_size(fs: FaceSet, pre: Preprocess) -> None:
    """Resize a face set's images in place to the model's input size where they differ."""
    if fs.images.shape[1:] != pre.size:
        import cv2

        fs.images = np.stack([cv2.resize(im, pre.size[::-1], interpolation=cv2.INTER_AREA) for im in fs.images])


def split_train_val(fs: FaceSet, seed: int) -> tuple[FaceSet, FaceSet, str]:
    if (fs.split == 0).any() and (fs.split == 1).any():
        return fs.get_split("Training"), fs.get_split("PublicTest"), "PublicTest"
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(fs.split != 2)  # never validate or train on PrivateTest rows
    rng.shuffle(pool)
    n_val = max(1, len(pool) // 10)
    val = np.zeros(len(fs), bool)
    val[pool[:n_val]] = True
    train = np.zeros(len(fs), bool)
    train[pool[n_val:]] = True
    return fs.subset(train), fs.subset(val), "random 10% hold-out of the non-test rows"


def train(
    cfg: TrainConfig,
    data: str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    threads: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``cfg.model`` on ``data`` and write checkpoints to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    spec = get_spec(cfg.model)
    pre = spec.preprocess

    fs = load_dataset(data, labels=cfg.labels)
    train_set, val_set, val_name = split_train_val(fs, cfg.seed)
    if cfg.limit:
        train_set = train_set.subset(np.arange(len(train_set)) < cfg.limit)
        val_set = val_set.subset(np.arange(len(val_set)) < max(cfg.limit // 4, 64))
    if len(train_set) == 0 or len(val_set) == 0:
        raise EdgeemoError(f"{data}: need both training and validation rows, got {len(train_set)}/{len(val_set)}")
    for d in (train_set, val_set):
        fit_size(d, pre)
    x_train = torch.from_numpy(train_set.images)

    model = build_model(cfg.model).to(memory_format=torch.channels_last)
    if cfg.init:
        loaded, skipped = load_init_weights(model, cfg.init)
        log(f"init: loaded {len(loaded)} tensors from {cfg.init}, skipped {len(skipped)}")
    teacher = load_teacher(cfg.teacher, pre) if cfg.teacher else None
    params_decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    params_no = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": params_decay, "weight_decay": cfg.weight_decay}, {"params": params_no, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=cfg.lr)
    else:
        raise EdgeemoError(f"unknown optimizer {cfg.optimizer!r}; use sgd or adamw")
    steps_per_epoch = max(1, len(train_set) // cfg.batch_size)
    sched = one_cycle(opt, cfg.lr, cfg.epochs, steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    np_rng = np.random.default_rng(cfg.seed)

    start_epoch, best_acc, best_epoch, history, stale = 0, -1.0, -1, [], 0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if resume and last_path.exists():
        ck = load_checkpoint(last_path)
        st = ck["train_state"]
        if st["config"]["model"] != cfg.model:
            raise EdgeemoError(f"{last_path} is a {st['config']['model']} run; cannot resume it as {cfg.model}")
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        gen.set_state(st["torch_gen"])
        np_rng.bit_generator.state = st["np_rng"]
        torch.set_rng_state(st["torch_rng"])
        start_epoch, best_acc, best_epoch, history = st["epoch"] + 1, st["best_acc"], st["best_epoch"], st["history"]
        stale = st.get("stale", 0)
        log(f"resumed {last_path} at epoch {start_epoch}/{cfg.epochs} (best PublicTest {best_acc:.4f} @ {best_epoch})")

    n_macs = count_macs(model, (pre.channels, *pre.size))
    meta_base = {
        "model": cfg.model,
        "classes": list(CLASSES),
        "preprocess": pre.to_dict(),
        "params": count_params(model),
        "macs": n_macs,
        "dataset": {
            "path": str(data), "name": Path(data).name,
            "sha256": file_sha256(data) if Path(data).is_file() else None,
            "train_rows": len(train_set), "val_rows": len(val_set), "val_split": val_name,
            "dropped": fs.dropped, "class_counts_train": train_set.class_counts(),
        },
        "config": {**asdict(cfg), "augment": asdict(cfg.augment)},
        "code_version": code_version(),
    }

    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn())
        bar.start()
    try:
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            model.train()
            perm = np_rng.permutation(len(train_set))
            task = bar.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps_per_epoch, info="") if bar else None
            loss_sum = 0.0
            for step in range(steps_per_epoch):
                idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                xb = to_tensor(x_train[idx].numpy(), pre)
                xb = augment(xb, cfg.augment, gen).contiguous(memory_format=torch.channels_last)
                yb = _targets(train_set, idx, cfg)
                with torch.no_grad():
                    tb = teacher(xb) if teacher is not None else None
                loss = batch_loss(model(xb), yb, tb, cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += float(loss.detach())
                if bar:
                    bar.update(task, advance=1, info=f"loss {loss_sum / (step + 1):.3f}")
            if bar:
                bar.remove_task(task)
            logits = predict_logits(model, val_set.images, pre)
            val = classification_metrics(val_set.labels, logits.argmax(1))
            rec = {"epoch": epoch, "train_loss": loss_sum / steps_per_epoch, "val_accuracy": val["accuracy"],
                   "val_macro_f1": val["macro_f1"], "lr": sched.get_last_lr()[0], "seconds": time.perf_counter() - t0}
            history.append(rec)
            epoch_meta = {**meta_base, "epoch": epoch, "metrics": {
                "val_split": val_name, "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"]}}
            improved = val["accuracy"] > best_acc
            if improved:
                best_acc, best_epoch, stale = val["accuracy"], epoch, 0
                save_checkpoint(best_path, model.state_dict(), epoch_meta)
            elif early_stop_armed(sched, cfg.lr):
                stale += 1
            log(f"epoch {epoch + 1}/{cfg.epochs}  loss {rec['train_loss']:.4f}  {val_name} acc {val['accuracy']:.4f} "
                f"macro-F1 {val['macro_f1']:.4f}  {rec['seconds']:.0f}s{'  *best*' if improved else ''}")
            save_checkpoint(last_path, model.state_dict(), {**meta_base, "epoch": epoch}, train_state={
                "config": {"model": cfg.model}, "epoch": epoch, "best_acc": best_acc, "best_epoch": best_epoch,
                "stale": stale, "history": history, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "torch_gen": gen.get_state(), "np_rng": np_rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            })
            if cfg.snapshots:
                save_checkpoint(out_dir / "snap" / f"epoch_{epoch + 1}.pt", model.state_dict(), epoch_meta)
            (out_dir / "history.json").write_text(json.dumps(history, indent=1))
            if stale >= cfg.patience:
                log(f"early stop: no {val_name} improvement for {cfg.patience} epochs")
                break
    finally:
        if bar:
            bar.stop()
    return TrainResult(best_path, last_path, best_epoch, best_acc, len(history), history)
