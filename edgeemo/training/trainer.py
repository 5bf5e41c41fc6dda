"""Training loop: FER2013 Training in, PublicTest for model selection, checkpoints out.

Protocol: fit on the ``Training`` split, keep the epoch with the best ``PublicTest``
accuracy (early stopping on it), never look at ``PrivateTest``. Each epoch writes
``last.pt`` (weights, optimizer, scheduler, RNG state) so an interrupted run resumes
exactly where it stopped, and ``best.pt`` (weights and metadata only) when it improves.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import FaceSet, load_dataset
from ..errors import EdgeemoError
from ..filehash import file_sha256
from ..hardware import native_bf16_cpu
from ..labels import CLASSES
from ..models import build_model, get_spec
from ..models.complexity import count_macs, count_params
from ..preprocess import Preprocess
from ..scoring import batched_logits, score
from ..selection import first, fit_and_select_sets
from ..version import code_version
from .augment import AugmentConfig, augment
from .checkpoint import load_checkpoint, load_init_weights, model_from_checkpoint, save_checkpoint


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
    teacher: tuple[str, ...] = ()  # checkpoints whose averaged softened outputs the model also learns (distillation)
    distill: float = 0.5  # weight of the teacher's term when a teacher is given
    temperature: float = 2.0
    teacher_flip: bool = False  # the teacher also sees each face mirrored and averages both views
    bf16: bool = False  # forward passes in bfloat16 (autocast) where the CPU computes it natively; weights stay FP32
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        one = isinstance(self.teacher, str | Path)  # a single checkpoint given as a path
        self.teacher = (str(self.teacher),) if one else tuple(str(t) for t in self.teacher or ())


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
    if cfg.teacher_flip and not cfg.teacher:
        raise EdgeemoError("teacher_flip (--teacher-flip) needs a teacher: give one with --teacher CHECKPOINT")
    if not cfg.lr > 0:
        raise EdgeemoError(f"the learning rate must be above 0, got {cfg.lr!r}")
    if cfg.bf16 and not native_bf16_cpu():
        raise EdgeemoError("bf16 (--bf16) needs a CPU that computes bfloat16 natively (AVX512_BF16 or AMX); this one "
                           "would emulate it, slower than FP32: train without --bf16")
    return cfg


def compute_precision(cfg: TrainConfig) -> torch.autocast:
    """The autocast context of the run's forward passes: bfloat16 with ``bf16``, else plain FP32.

    Autocast keeps the weights, gradients and optimizer state in FP32 and runs convolutions and matrix
    products in bfloat16; on CPUs with native bfloat16 that halves a training step's time.
    """
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16)


def to_tensor(images: np.ndarray, spec: Preprocess) -> torch.Tensor:
    x = torch.from_numpy(images).float().unsqueeze(1).div_(255.0)
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    if spec.channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return (x - mean) / std


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: np.ndarray, spec: Preprocess, batch_size: int = 512) -> np.ndarray:
    """Logits of a torch model for uint8 faces, batched through :func:`edgeemo.scoring.batched_logits`."""
    model.eval()
    return batched_logits(lambda xb: model(xb).float().numpy(), images, batch_size=batch_size,
                          prepare=lambda b: to_tensor(b, spec))


@torch.no_grad()
def validate(model: torch.nn.Module, faces: FaceSet, pre: Preprocess, batch_size: int = 512) -> dict:
    """The model's metrics on ``faces`` (model selection; :func:`edgeemo.scoring.score`)."""
    model.eval()
    return score(lambda xb: model(xb).float().numpy(), faces.images, faces.labels, batch_size=batch_size,
                 prepare=lambda b: to_tensor(b, pre)).metrics


def batch_targets(fs: FaceSet, idx: np.ndarray, cfg: TrainConfig) -> torch.Tensor:
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


class Teacher:
    """One checkpoint or an ensemble: the mean of their probabilities softened by the temperature.

    With ``flip`` every member also sees the mirrored face (an expression reads the same mirrored), so the
    targets are the average over members and both views: a stronger teacher at no cost to the student's
    inference, which learns the averaged answer in one pass.
    """

    def __init__(self, paths: tuple[str, ...], pre: Preprocess, temperature: float, flip: bool = False):
        self.models = [load_teacher(p, pre) for p in paths]
        self.temperature = temperature
        self.flip = flip

    @torch.no_grad()
    def __call__(self, xb: torch.Tensor) -> torch.Tensor:
        """Log-probabilities at the temperature, averaged in probability space over the members (and views)."""
        views = (xb, torch.flip(xb, dims=(-1,))) if self.flip else (xb,)
        logp = torch.stack([F.log_softmax(m(v).float() / self.temperature, 1) for m in self.models for v in views])
        return torch.logsumexp(logp, 0) - math.log(len(logp))


def batch_loss(logits: torch.Tensor, targets: torch.Tensor, teacher_logp: torch.Tensor | None,
               cfg: TrainConfig) -> torch.Tensor:
    """Cross-entropy against the targets, plus (with a teacher) T²-scaled KL to the teacher's softened outputs."""
    ce = torch.sum(-targets * F.log_softmax(logits, 1), 1).mean()
    if teacher_logp is None:
        return ce
    t = cfg.temperature
    kl = F.kl_div(F.log_softmax(logits / t, 1), teacher_logp, log_target=True, reduction="batchmean")
    return (1 - cfg.distill) * ce + cfg.distill * t * t * kl


def fit_size(fs: FaceSet, pre: Preprocess) -> None:
    """Resize a face set's images in place to the model's input size where they differ."""
    if fs.images.shape[1:] != pre.size:
        import cv2

        fs.images = np.stack([cv2.resize(im, pre.size[::-1], interpolation=cv2.INTER_AREA) for im in fs.images])


def split_train_val(fs: FaceSet, seed: int) -> tuple[FaceSet, FaceSet, str]:
    """Faces to train on and faces to select on (see :func:`edgeemo.selection.fit_and_select_sets`)."""
    return fit_and_select_sets(fs, seed)


def _load_sets(cfg: TrainConfig, data: str | Path, pre: Preprocess) -> tuple[FaceSet, FaceSet, FaceSet, str]:
    """(whole set, training faces, validation faces, the validation split's name), sized for the model."""
    fs = load_dataset(data, labels=cfg.labels)
    train_set, val_set, val_name = split_train_val(fs, cfg.seed)
    if cfg.limit:
        train_set = first(train_set, cfg.limit)
        val_set = first(val_set, max(cfg.limit // 4, 64))
    if len(train_set) == 0 or len(val_set) == 0:
        raise EdgeemoError(f"{data}: need both training and validation rows, got {len(train_set)}/{len(val_set)}")
    for d in (train_set, val_set):
        fit_size(d, pre)
    return fs, train_set, val_set, val_name


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (Nesterov) or AdamW; weight decay on weights only, not on biases and norms."""
    params_decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    params_no = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": params_decay, "weight_decay": cfg.weight_decay}, {"params": params_no, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise EdgeemoError(f"unknown optimizer {cfg.optimizer!r}; use sgd or adamw")


@dataclass
class _Run:
    """Everything one training run carries from epoch to epoch (and into last.pt)."""

    cfg: TrainConfig
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.OneCycleLR
    teacher: Teacher | None  # distillation: the model also learns its softened outputs
    gen: torch.Generator
    np_rng: np.random.Generator
    steps_per_epoch: int
    start_epoch: int = 0
    best_acc: float = -1.0
    best_epoch: int = -1
    stale: int = 0
    history: list[dict] = field(default_factory=list)

    def train_state(self, epoch: int) -> dict:
        return {"config": {"model": self.cfg.model, "epochs": self.cfg.epochs}, "epoch": epoch,
                "best_acc": self.best_acc,
                "best_epoch": self.best_epoch, "stale": self.stale, "history": self.history,
                "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                "torch_gen": self.gen.get_state(), "np_rng": self.np_rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}

    def resume(self, last_path: Path, log: Callable[[str], None]) -> None:
        """Continue exactly where ``last_path`` stopped: weights, optimizer, schedule, RNG states."""
        ck = load_checkpoint(last_path)
        st = ck["train_state"]
        if st["config"]["model"] != self.cfg.model:
            raise EdgeemoError(f"{last_path} is a {st['config']['model']} run; cannot resume it as {self.cfg.model}")
        if st["config"].get("epochs", self.cfg.epochs) != self.cfg.epochs:  # the schedule was laid out for them
            raise EdgeemoError(f"{last_path} is a run of {st['config']['epochs']} epochs; resume it with --epochs "
                               f"{st['config']['epochs']}, or start a new run (--no-resume, or another --out)")
        self.model.load_state_dict(ck["state_dict"])
        self.opt.load_state_dict(st["optimizer"])
        self.sched.load_state_dict(st["scheduler"])
        self.gen.set_state(st["torch_gen"])
        self.np_rng.bit_generator.state = st["np_rng"]
        torch.set_rng_state(st["torch_rng"])
        self.start_epoch, self.best_acc, self.best_epoch = st["epoch"] + 1, st["best_acc"], st["best_epoch"]
        self.history, self.stale = st["history"], st.get("stale", 0)
        log(f"resumed {last_path} at epoch {self.start_epoch}/{self.cfg.epochs} "
            f"(best PublicTest {self.best_acc:.4f} @ {self.best_epoch})")


def _new_run(cfg: TrainConfig, pre: Preprocess, steps_per_epoch: int, log: Callable[[str], None]) -> _Run:
    model = build_model(cfg.model).to(memory_format=torch.channels_last)
    if cfg.init:
        loaded, skipped = load_init_weights(model, cfg.init)
        log(f"init: loaded {len(loaded)} tensors from {cfg.init}, skipped {len(skipped)}")
    teacher = Teacher(cfg.teacher, pre, cfg.temperature, cfg.teacher_flip) if cfg.teacher else None
    opt = make_optimizer(model, cfg)
    return _Run(cfg, model, opt, one_cycle(opt, cfg.lr, cfg.epochs, steps_per_epoch), teacher,
                torch.Generator().manual_seed(cfg.seed), np.random.default_rng(cfg.seed), steps_per_epoch)


def _meta_base(cfg: TrainConfig, data: str | Path, sets: tuple[FaceSet, FaceSet, FaceSet, str],
               model: torch.nn.Module, pre: Preprocess) -> dict:
    """The metadata every checkpoint of the run carries (labels, preprocessing, data, config)."""
    fs, train_set, val_set, val_name = sets
    return {
        "model": cfg.model,
        "classes": list(CLASSES),
        "preprocess": pre.to_dict(),
        "params": count_params(model),
        "macs": count_macs(model, (pre.channels, *pre.size)),
        "dataset": {
            "path": str(data), "name": Path(data).name,
            "sha256": file_sha256(data) if Path(data).is_file() else None,
            "train_rows": len(train_set), "val_rows": len(val_set), "val_split": val_name,
            "dropped": fs.dropped, "class_counts_train": train_set.class_counts(),
        },
        "config": {**asdict(cfg), "augment": asdict(cfg.augment)},
        "code_version": code_version(),
    }


def _progress_bar(progress: bool):
    if not progress:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn())
    bar.start()
    return bar


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, teacher: Teacher | None, xb: torch.Tensor,
               targets: torch.Tensor, cfg: TrainConfig) -> float:
    """One optimizer step on an augmented batch (in the run's compute precision); returns the loss."""
    with compute_precision(cfg):
        tb = teacher(xb) if teacher is not None else None
        logits = model(xb)
    loss = batch_loss(logits.float(), targets, tb, cfg)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _train_epoch(run: _Run, train_set: FaceSet, pre: Preprocess, epoch: int, bar) -> float:
    """One pass over the shuffled training faces; returns the mean loss."""
    cfg, model = run.cfg, run.model
    model.train()
    x_train = torch.from_numpy(train_set.images)
    perm = run.np_rng.permutation(len(train_set))
    task = bar.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=run.steps_per_epoch, info="") if bar else None
    loss_sum = 0.0
    for step in range(run.steps_per_epoch):
        idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        xb = to_tensor(x_train[idx].numpy(), pre)
        xb = augment(xb, cfg.augment, run.gen).contiguous(memory_format=torch.channels_last)
        loss = train_step(model, run.opt, run.teacher, xb, batch_targets(train_set, idx, cfg), cfg)
        run.sched.step()
        loss_sum += loss
        if bar:
            bar.update(task, advance=1, info=f"loss {loss_sum / (step + 1):.3f}")
    if bar:
        bar.remove_task(task)
    return loss_sum / run.steps_per_epoch


def _end_epoch(run: _Run, epoch: int, loss: float, val: dict, seconds: float, meta_base: dict, val_name: str,
               out_dir: Path, log: Callable[[str], None]) -> bool:
    """Record the epoch, write best.pt / last.pt / snapshots / history; True when early stopping says stop."""
    rec = {"epoch": epoch, "train_loss": loss, "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"],
           "lr": run.sched.get_last_lr()[0], "seconds": seconds}
    run.history.append(rec)
    epoch_meta = {**meta_base, "epoch": epoch, "metrics": {
        "val_split": val_name, "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"]}}
    improved = val["accuracy"] > run.best_acc
    if improved:
        run.best_acc, run.best_epoch, run.stale = val["accuracy"], epoch, 0
        save_checkpoint(out_dir / "best.pt", run.model.state_dict(), epoch_meta)
    elif early_stop_armed(run.sched, run.cfg.lr):
        run.stale += 1
    log(f"epoch {epoch + 1}/{run.cfg.epochs}  loss {loss:.4f}  {val_name} acc {val['accuracy']:.4f} "
        f"macro-F1 {val['macro_f1']:.4f}  {seconds:.0f}s{'  *best*' if improved else ''}")
    save_checkpoint(out_dir / "last.pt", run.model.state_dict(), {**meta_base, "epoch": epoch},
                    train_state=run.train_state(epoch))
    if run.cfg.snapshots:
        save_checkpoint(out_dir / "snap" / f"epoch_{epoch + 1}.pt", run.model.state_dict(), epoch_meta)
    (out_dir / "history.json").write_text(json.dumps(run.history, indent=1))
    if run.stale >= run.cfg.patience:
        log(f"early stop: no {val_name} improvement for {run.cfg.patience} epochs")
        return True
    return False


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
    pre = get_spec(cfg.model).preprocess
    sets = _load_sets(cfg, data, pre)
    train_set, val_set, val_name = sets[1:]
    run = _new_run(cfg, pre, max(1, len(train_set) // cfg.batch_size), log)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if resume and last_path.exists():
        run.resume(last_path, log)
    meta_base = _meta_base(cfg, data, sets, run.model, pre)
    bar = _progress_bar(progress)
    try:
        for epoch in range(run.start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            loss = _train_epoch(run, train_set, pre, epoch, bar)
            val = validate(run.model, val_set, pre)
            if _end_epoch(run, epoch, loss, val, time.perf_counter() - t0, meta_base, val_name, out_dir, log):
                break
    finally:
        if bar:
            bar.stop()
    return TrainResult(best_path, last_path, run.best_epoch, run.best_acc, len(run.history), run.history)
