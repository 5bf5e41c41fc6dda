"""The ``edgeemo`` command line: one subcommand per job, each a thin shell over a library call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .errors import EdgeemoError

console = Console(stderr=False)
err_console = Console(stderr=True)


class EdgeemoGroup(click.Group):
    """Turns errors into one readable line and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeemoError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("EDGEEMO_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                "Set EDGEEMO_DEBUG=1 to see the traceback, and please report it.",
                highlight=False, soft_wrap=True,
            )
            sys.exit(1)


@click.group(cls=EdgeemoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgeemo")
def main() -> None:
    """Facial emotion recognition from research result to edge device."""


def _write_json(obj: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


@main.command()
@click.option("--model", "model_name", required=True, help="Registry name: edgenet, cnn1, cnn2, resnet50, vgg16.")
@click.option("--data", required=True, type=click.Path(), help="fer2013.npz, Kaggle fer2013.csv or an image folder.")
@click.option("--out", type=click.Path(), default=None, help="Run folder [default: runs/MODEL].")
@click.option("--epochs", type=int, default=None, help="Override the model's recipe.")
@click.option("--lr", type=float, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default=None)
@click.option("--weight-decay", type=float, default=None)
@click.option("--label-smoothing", type=float, default=None)
@click.option("--soft-labels", type=float, default=None,
              help="Weight of FER+ vote distributions in the targets (0..1).")
@click.option("--patience", type=int, default=None, help="Early stopping: epochs without PublicTest improvement.")
@click.option("--limit", type=int, default=None, help="Use only the first N training faces (smoke runs).")
@click.option("--init", type=click.Path(), default=None, help="Pretrained state dict (e.g. torchvision ImageNet).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=None, help="torch threads [default: all cores].")
@click.option("--resume/--no-resume", default=True, show_default=True, help="Continue from OUT/last.pt if present.")
def train(model_name, data, out, resume, threads, seed, **overrides) -> None:
    """Train a model on FER2013 Training, selecting on PublicTest."""
    from .training.trainer import make_config
    from .training.trainer import train as train_fn

    cfg = make_config(model_name, seed=seed, **overrides)
    out = Path(out or Path("runs") / cfg.model)
    res = train_fn(cfg, data, out, resume=resume, threads=threads, progress=sys.stdout.isatty())
    console.print(
        f"best PublicTest accuracy {res.best_val_accuracy:.4f} at epoch {res.best_epoch + 1}; "
        f"checkpoint {res.best_path}"
    )


@main.command("eval")
@click.option("--model", "model_ref", default="default", show_default=True,
              help="'default', a registry name with a trained checkpoint, or a model file.")
@click.option("--data", required=True, type=click.Path())
@click.option("--split", default="auto", show_default=True,
              help="Training, PublicTest, PrivateTest or all; auto = PrivateTest when the data has splits.")
@click.option("--backend", default="auto", show_default=True)
@click.option("--limit", type=int, default=None, help="Score only the first N faces.")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--threads", type=int, default=None)
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the metrics as JSON.")
@click.option("--confusion-png", type=click.Path(), default=None,
              help="Confusion-matrix PNG [default: beside --json, else none].")
def eval_cmd(model_ref, data, split, backend, limit, batch_size, threads, json_out, confusion_png) -> None:
    """Accuracy, balanced accuracy, macro and per-class P/R/F1 and the confusion matrix."""
    from .evaluate import evaluate
    from .report import confusion_png as draw_confusion
    from .report import print_metrics

    res = evaluate(model_ref, data, split=None if split == "all" else split, backend=backend,
                   batch_size=batch_size, limit=limit, threads=threads)
    print_metrics(res, console)
    if json_out:
        _write_json(res, json_out)
        console.print(f"wrote {json_out}")
        if confusion_png is None:
            confusion_png = str(Path(json_out).with_suffix(".png"))
    if confusion_png:
        title = f"{res['model']} on {Path(res['data']).name} {res['split']}: acc {res['accuracy']:.3f}"
        draw_confusion(res["confusion"], res["classes"], confusion_png, title)
        console.print(f"wrote {confusion_png}")


@main.command()
def models() -> None:
    """List the model registry (needs the train extra) and the shipped default."""
    from rich.table import Table

    from .model_files import DEFAULT_MODEL

    table = Table(title="edgeemo models")
    for col in ("name", "params", "MMACs", "input", "description"):
        table.add_column(col)
    try:
        from .models import REGISTRY
        from .models.complexity import count_macs, count_params
    except EdgeemoError as exc:
        console.print(f"default model: {DEFAULT_MODEL}\n({exc})")
        return
    for name, spec in REGISTRY.items():
        m = spec.build(in_channels=spec.preprocess.channels) if name != "resnet50" else spec.build()
        pre = spec.preprocess
        table.add_row(name, f"{count_params(m) / 1e6:.2f} M", f"{count_macs(m, (pre.channels, *pre.size)) / 1e6:.1f}",
                      f"{pre.channels}×{pre.size[0]}×{pre.size[1]}", spec.description)
    console.print(table)
    console.print(f"default model: {DEFAULT_MODEL}")


@main.command()
@click.argument("model_ref", default="default")
def info(model_ref) -> None:
    """Show a model file's metadata (labels, preprocessing, provenance)."""
    from .backends import open_backend
    from .model_files import resolve_model

    path = resolve_model(model_ref)
    be = open_backend(path)
    console.print_json(json.dumps({"file": str(path), "backend": be.name, "provider": be.provider,
                                   **be.meta.to_dict()}))


@main.command()
@click.option("--model", "model_ref", required=True, help="Registry name with a trained checkpoint, or a .pt file.")
@click.option("--out", type=click.Path(), default=None, help="Output file [default: export/NAME.onnx].")
@click.option("--opset", type=int, default=17, show_default=True)
def export(model_ref, out, opset) -> None:
    """Export a checkpoint to ONNX (FP32, dynamic batch, metadata inside)."""
    from .export.onnx_export import export_onnx
    from .model_files import resolve_model

    src = resolve_model(model_ref)
    if src.suffix not in (".pt", ".pth"):
        raise EdgeemoError(f"{src}: export starts from an edgeemo checkpoint (.pt), not a {src.suffix} file")
    name = src.parent.name if src.name == "best.pt" else src.stem
    out = Path(out or Path("export") / f"{name}.onnx")
    export_onnx(src, out, opset=opset)
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":  # pragma: no cover
    main()
