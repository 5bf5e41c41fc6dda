"""The ``edgeemo`` command line: one subcommand per job, each a thin shell over a library call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .cliargs import csv_list
from .console_log import make_console, styled
from .errors import EdgeemoError, caused_by_interrupt
from .models import REGISTRY

console = make_console()
err_console = make_console(stderr=True)


class EdgeemoGroup(click.Group):
    """Turns errors into one readable line and an exit code instead of a traceback."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """A Ctrl-C can land in click's own argument handling, outside ``invoke``; click would print "Aborted!"
        and exit 1 there. The command says "interrupted" and exits 130 wherever it lands."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except (click.exceptions.Abort, KeyboardInterrupt):  # edgeemo asks no questions: Abort is a Ctrl-C
            _exit_interrupted()
        except click.UsageError as exc:  # a bad command or option value, here or in a subcommand: one line
            cmd = _help_command(exc.ctx)
            err_console.print(styled("error:", "bold red", f" {exc.format_message()} (see '{cmd} --help')"),
                              soft_wrap=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)  # an exit code from ctx.exit(); commands return None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeemoError as exc:
            err_console.print(styled("error:", "bold red", f" {exc}"), soft_wrap=True)
            sys.exit(2)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except (KeyboardInterrupt, Exception) as exc:
            if caused_by_interrupt(exc):  # Ctrl-C, or another exception that wraps one
                _exit_interrupted()
            if os.environ.get("EDGEEMO_DEBUG"):
                raise
            err_console.print(styled(
                "internal error:", "bold red", f" {type(exc).__name__}: {exc}\n"
                "Set EDGEEMO_DEBUG=1 to see the traceback, and please report it."), soft_wrap=True)
            sys.exit(1)


def _help_command(ctx: click.Context | None) -> str:
    """'edgeemo SUBCOMMAND', whatever name the program was started under."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(["edgeemo", *reversed(names)])


def _exit_interrupted() -> NoReturn:
    err_console.print(styled("interrupted", "yellow"))
    sys.exit(130)


@click.group(cls=EdgeemoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgeemo")
def main() -> None:
    """Facial emotion recognition from research result to edge device."""


POSITIVE = click.IntRange(min=1)  # counts where 0 or less makes no sense (--limit, --batch-size, ...)


def _write_json(obj: dict, path: str | Path) -> None:
    from .outputs import write_text

    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _say_model(ref) -> None:
    """Say which file a model reference resolved to, and from where (registry names above all)."""
    from .model_files import describe_model

    console.print(describe_model(ref), soft_wrap=True)


@main.command()
@click.option("--model", "model_name", required=True,
              help=f"Registry name: {', '.join(REGISTRY)} ('edgeemo models' describes them).")
@click.option("--data", required=True, type=click.Path(), help="fer2013.npz, Kaggle fer2013.csv or an image folder.")
@click.option("--out", type=click.Path(), default=None, help="Run folder [default: runs/MODEL].")
@click.option("--epochs", type=POSITIVE, default=None, help="Override the model's recipe.")
@click.option("--lr", type=float, default=None)
@click.option("--batch-size", type=POSITIVE, default=None)
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default=None)
@click.option("--weight-decay", type=float, default=None)
@click.option("--label-smoothing", type=float, default=None)
@click.option("--soft-labels", type=float, default=None,
              help="Weight of FER+ vote distributions in the targets (0..1).")
@click.option("--patience", type=POSITIVE, default=None, help="Early stopping: epochs without PublicTest improvement.")
@click.option("--labels", type=click.Choice(["fer2013", "ferplus"]), default=None,
              help="Labels to select on: FER2013's own or the FER+ majority (rows without one are left out).")
@click.option("--augment", "augment_preset", type=click.Choice(["crops", "photos"]), default="crops", show_default=True,
              help="crops: FER-style jitter; photos: also wider scale/shift/rotation, lighting and low resolution.")
@click.option("--teacher", type=click.Path(), multiple=True,
              help="Distil from this trained checkpoint (its softened outputs join the targets); repeat it for an "
                   "ensemble, whose members' softened probabilities are averaged.")
@click.option("--distill", type=float, default=None, help="Weight of the teacher's term, 0..1 [0.5].")
@click.option("--temperature", type=float, default=None, help="Distillation temperature [2.0].")
@click.option("--teacher-flip", is_flag=True, default=None,
              help="The teacher also sees each face mirrored and averages both views (a stronger teacher).")
@click.option("--bf16", is_flag=True, default=None,
              help="Forward passes (student and teacher) in bfloat16, about 2x faster on CPUs that compute it "
                   "natively (AVX512_BF16, AMX); weights and checkpoints stay FP32.")
@click.option("--limit", type=POSITIVE, default=None, help="Use only the first N training faces (smoke runs).")
@click.option("--init", type=click.Path(), default=None, help="Pretrained state dict (e.g. torchvision ImageNet).")
@click.option("--snapshots", is_flag=True, default=None,
              help="Keep every epoch's weights as OUT/snap/epoch_N.pt, for 'edgeemo average'.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=POSITIVE, default=None, help="torch threads [default: all cores].")
@click.option("--resume/--no-resume", default=True, show_default=True, help="Continue from OUT/last.pt if present.")
def train(model_name, data, out, resume, threads, seed, augment_preset, **overrides) -> None:
    """Train a model on FER2013 Training, selecting on PublicTest."""
    from .outputs import check_output_dir
    from .training.augment import PRESETS
    from .training.trainer import make_config
    from .training.trainer import train as train_fn

    cfg = make_config(model_name, seed=seed, augment=PRESETS[augment_preset], **overrides)
    out = Path(out or Path("runs") / cfg.model)
    check_output_dir(out, "--out", inputs=[data])
    res = train_fn(cfg, data, out, resume=resume, threads=threads, progress=sys.stdout.isatty())
    console.print(
        f"best PublicTest accuracy {res.best_val_accuracy:.4f} at epoch {res.best_epoch + 1}; "
        f"checkpoint {res.best_path}"
    )


@main.command("adjust-prior")
@click.argument("checkpoint", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="The training data (fer2013.npz): prior and PublicTest.")
@click.option("--out", required=True, type=click.Path(), help="The adjusted checkpoint to write.")
@click.option("--tau", type=float, default=None,
              help="Strength of the adjustment [chosen on PublicTest]; replaces an earlier one (0 undoes it).")
@click.option("--max-accuracy-drop", type=float, default=0.005, show_default=True,
              help="When choosing tau: best balanced accuracy whose accuracy stays within this of tau = 0.")
def adjust_prior_cmd(checkpoint, data, out, tau, max_accuracy_drop) -> None:
    """Fold a correction for the training labels' class prior into a checkpoint's last bias (logit adjustment)."""
    from .training.priors import adjust_prior

    adjust_prior(checkpoint, data, out, tau=tau, max_accuracy_drop=max_accuracy_drop, log=console.print)


@main.command()
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path())
@click.option("--data", required=True, type=click.Path(),
              help="The training data (fer2013.npz): batch-norm statistics come from its Training faces.")
@click.option("--out", required=True, type=click.Path(), help="The averaged checkpoint to write.")
@click.option("--bn-faces", type=POSITIVE, default=None, help="Recompute batch norm on N random Training faces [all].")
@click.option("--threads", type=POSITIVE, default=None)
def average(checkpoints, data, out, bn_faces, threads) -> None:
    """Average the weights of several checkpoints of one run into one model (weight averaging)."""
    from .outputs import check_output_file
    from .training.averaging import average_checkpoints

    check_output_file(out, "--out", inputs=[*checkpoints, data])

    average_checkpoints(checkpoints, data, out, bn_faces=bn_faces, threads=threads, log=console.print)


@main.command("eval")
@click.option("--model", "model_ref", default="default", show_default=True,
              help="'default' or 'fast' (shipped), a registry name with a trained checkpoint, or a model file.")
@click.option("--data", required=True, type=click.Path())
@click.option("--split", default="auto", show_default=True,
              help="Training, PublicTest, PrivateTest or all; auto = PrivateTest when the data has splits.")
@click.option("--backend", default="auto", show_default=True)
@click.option("--labels", type=click.Choice(["fer2013", "ferplus"]), default="fer2013", show_default=True,
              help="Score against FER2013's labels or the FER+ majority of 10 annotators (faces without one left "
                   "out; needs an .npz with FER+ votes, such as fer2013.npz).")
@click.option("--limit", type=POSITIVE, default=None, help="Score only the first N faces.")
@click.option("--batch-size", type=POSITIVE, default=256, show_default=True)
@click.option("--threads", type=POSITIVE, default=None)
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the metrics as JSON.")
@click.option("--confusion-png", type=click.Path(), default=None,
              help="Confusion-matrix PNG [default: beside --json, else none].")
def eval_cmd(model_ref, data, split, backend, labels, limit, batch_size, threads, json_out, confusion_png) -> None:
    """Accuracy, balanced accuracy, macro and per-class P/R/F1 and the confusion matrix."""
    from .evaluate import evaluate
    from .model_files import resolve_model
    from .outputs import check_output_file
    from .report import confusion_png as draw_confusion
    from .report import print_metrics

    inputs = [data, resolve_model(model_ref)]
    check_output_file(json_out, "--json", inputs)
    png = confusion_png or (str(Path(json_out).with_suffix(".png")) if json_out else None)
    check_output_file(png, "--confusion-png", [*inputs, json_out])
    _say_model(model_ref)
    res = evaluate(model_ref, data, split=None if split == "all" else split, labels=labels, backend=backend,
                   batch_size=batch_size, limit=limit, threads=threads)
    console.print(f"ran {res['model_file']}: {res['precision_choice']}", soft_wrap=True)
    print_metrics(res, console)
    if json_out:
        _write_json(res, json_out)
        console.print(f"wrote {json_out}")
        if confusion_png is None:
            confusion_png = str(Path(json_out).with_suffix(".png"))
    if confusion_png:
        title = (f"{res['model']} on {Path(res['data']).name} {res['split']}"
                 + (", FER+ majority labels" if labels == "ferplus" else "") + f": acc {res['accuracy']:.3f}")
        draw_confusion(res["confusion"], res["classes"], confusion_png, title)
        console.print(f"wrote {confusion_png}")


def _model_cost(name: str) -> tuple[str, str]:
    """Parameters and multiply-adds per face of a registry model ('' without torch)."""
    try:
        from .models import build_model, get_spec
        from .models.complexity import count_macs, count_params

        m, pre = build_model(name), get_spec(name).preprocess
    except EdgeemoError:
        return "", ""
    return f"{count_params(m) / 1e6:.2f} M", f"{count_macs(m, (pre.channels, *pre.size)) / 1e6:.1f}"


@main.command()
def models() -> None:
    """List the model registry: input, training recipe and cost of each model, and the shipped models."""
    from .model_files import SHIPPED
    from .report import table as new_table

    cols = ("name", "params", "MMACs", "input", "recipe (edgeemo train defaults)", "description")
    table = new_table("edgeemo models", cols, left=("name", "input", *cols[4:]), wrap=cols[4:])
    for name, spec in REGISTRY.items():
        pre, r = spec.preprocess, spec.recipe
        recipe = (f"{r.epochs} epochs, {r.optimizer} lr {r.lr:g}, batch {r.batch_size}, weight decay "
                  f"{r.weight_decay:g}, label smoothing {r.label_smoothing:g}, patience {r.patience}")
        table.add_row(name, *_model_cost(name), f"{pre.channels}×{pre.size[0]}×{pre.size[1]}", recipe,
                      spec.description)
    console.print(table)
    if not _model_cost(next(iter(REGISTRY)))[0]:
        console.print("(parameters and multiply-adds need torch: pip install 'edgeemo[train]')")
    for s in SHIPPED.values():
        console.print(f"shipped '{s.name}': {s.summary} ({s.fp32}, {s.int8.name})", soft_wrap=True)


@main.command()
@click.argument("model_ref", default="default")
def info(model_ref) -> None:
    """Show a model file's metadata (labels, preprocessing, provenance)."""
    from .backends import open_backend
    from .model_files import locate_model

    loc = locate_model(model_ref)
    be = open_backend(loc.path)
    console.print_json(json.dumps({"file": str(loc.path), "resolved_from": loc.origin, "backend": be.name,
                                   "provider": be.provider, "execution_precision": be.execution_precision,
                                   **be.meta.to_dict()}))
    be.close()


@main.command()
@click.option("--model", "model_ref", required=True,
              help="'default', 'fast', a registry name with a trained checkpoint, a .pt checkpoint or an FP32 "
                   ".onnx file.")
@click.option("--format", "formats", multiple=True, default=("onnx",), show_default=True,
              help="onnx, openvino, tensorrt (repeat or comma-separate).")
@click.option("--precision", "precisions", multiple=True, default=("fp32",), show_default=True,
              help="fp32, fp16, int8 (repeat or comma-separate); bf16 for OpenVINO on CPUs with native bfloat16.")
@click.option("--data", type=click.Path(), default=None, help="Real faces for INT8 calibration (e.g. fer2013.npz).")
@click.option("--out", type=click.Path(), default=None,
              help="Output folder [default: export/NAME/KEY, KEY from the weights: shared with bench and compare].")
@click.option("--budget", type=float, default=0.01, show_default=True,
              help="INT8: largest accepted PublicTest accuracy drop (0.01 = 1 point).")
@click.option("--calib-size", type=POSITIVE, default=512, show_default=True, help="INT8: calibration faces.")
@click.option("--tta", type=click.Choice(["none", "flip"]), default="none", show_default=True,
              help="From a checkpoint: bake horizontal-flip test-time augmentation into the model.")
@click.option("--rebuild", is_flag=True, help="Build every artifact again instead of reusing the cached ones.")
def export(model_ref, formats, precisions, data, out, budget, calib_size, tta, rebuild) -> None:
    """Export and quantize to ONNX, OpenVINO and TensorRT at FP32/FP16/INT8 (reusing what is already built
    from the same weights)."""
    from .export.pipeline import export_model
    from .model_files import resolve_model
    from .outputs import check_output_dir

    check_output_dir(out, "--out", [data, resolve_model(model_ref)])
    _say_model(model_ref)
    arts = export_model(model_ref, csv_list(formats), csv_list(precisions), out_dir=out, data=data,
                        budget=budget, n_calib=calib_size, tta=tta, rebuild=rebuild, log=console.print)
    failed = [a for a in arts if a.status != "ok"]
    if failed:
        raise EdgeemoError(f"{len(failed)} of {len(arts)} exports failed: "
                           + "; ".join(f"{a.format}/{a.precision}: {a.reason}" for a in failed))


@main.command()
@click.option("--model", "model_ref", default="default", show_default=True,
              help="'default', 'fast', a registry name with a trained checkpoint, a .pt or an FP32 .onnx file.")
@click.option("--data", required=True, type=click.Path(), help="Labelled faces (fer2013.npz); also calibrates INT8.")
@click.option("--format", "formats", multiple=True, default=("onnx,openvino",), show_default=True)
@click.option("--precision", "precisions", multiple=True, default=("fp32,fp16,int8,bf16",), show_default=True,
              help="bf16: OpenVINO only, where the CPU computes bfloat16 natively (else the row is skipped).")
@click.option("--split", default="PrivateTest", show_default=True)
@click.option("--labels", type=click.Choice(["fer2013", "ferplus"]), default="fer2013", show_default=True,
              help="Score against FER2013's labels or the FER+ majority of 10 annotators (faces without one left "
                   "out; needs an .npz with FER+ votes, such as fer2013.npz).")
@click.option("--limit", type=POSITIVE, default=None, help="Compare on the first N faces only.")
@click.option("--threads", type=POSITIVE, default=1, show_default=True, help="Threads per runtime for latency.")
@click.option("--out", type=click.Path(), default=None,
              help="Export folder [default: export/NAME/KEY, the cache bench and export share].")
@click.option("--rebuild", is_flag=True, help="Build every artifact again instead of reusing the cached ones.")
@click.option("--json", "json_out", type=click.Path(), default=None)
@click.option("--md", "md_out", type=click.Path(), default=None, help="Markdown table.")
def compare(model_ref, data, formats, precisions, split, labels, limit, threads, out, rebuild, json_out,
            md_out) -> None:
    """Quantized vs full precision: accuracy change, agreement, size and latency per format × precision."""
    from .compare import compare as compare_fn
    from .compare import print_table, write_outputs
    from .model_files import resolve_model
    from .outputs import check_output_dir, check_output_file

    inputs = [data, resolve_model(model_ref)]
    check_output_dir(out, "--out", inputs)
    check_output_file(json_out, "--json", inputs)
    check_output_file(md_out, "--md", [*inputs, json_out])
    _say_model(model_ref)
    res = compare_fn(model_ref, data, formats=csv_list(formats), precisions=csv_list(precisions), split=split,
                     labels=labels, limit=limit, threads=threads, out_dir=out, rebuild=rebuild, log=console.print)
    title = (f"{Path(str(model_ref)).name} vs {res['reference']} on {res['split']}, {res['labels_description']} "
             f"(n={res['n']})")
    print_table(res, title, console)
    for path in write_outputs(res, json_out, md_out, "edgeemo " + " ".join(sys.argv[1:])):
        console.print(f"wrote {path}")


# Subcommands that live beside the code they drive. Each module defines one click command and
# imports its heavy dependencies inside the command, so `edgeemo --help` stays fast on a board.
def _register(module: str, attr: str) -> None:
    import importlib

    main.add_command(getattr(importlib.import_module(module, __package__), attr))


# (registrations: one line each)
_register(".analysis.command", "analyze")
_register(".vlm.command", "vlm_eval")
_register(".demo.command", "demo")
_register(".bench.command", "bench")


if __name__ == "__main__":  # pragma: no cover
    main()
