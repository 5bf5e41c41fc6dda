"""``edgeemo bench``: accuracy beside latency, memory and size for every model × backend × precision
of a device profile, here or on boards over SSH."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from ..cliargs import RUNS, command_line, csv_list
from ..console_log import make_console, styled
from ..errors import EdgeemoError
from ..vlm.cache import DEFAULT_CACHE
from .sweep import DEFAULT_MODELS
from .vlm_options import parse_vlm_spec


def _console():
    return make_console()


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt("SIGTERM")


def check_outputs(stem: Path, export_dir: str | None, data: str | None, plot: bool) -> None:
    """Every file the run will write is checked before anything is exported or measured."""
    from ..outputs import check_output_dir, check_output_file

    for ext in (".json", ".csv", ".md") + ((".png",) if plot else ()):
        check_output_file(stem.with_name(stem.name + ext), "--out", inputs=[data])
    if export_dir is not None:
        check_output_dir(export_dir, "--export-dir", inputs=[data])


def _list_devices(console) -> None:
    from ..report import table as new_table
    from .profiles import list_profiles, read_profile_file

    cols = ("name", "matches here", "targets", "file")
    table = new_table("device profiles (first folder wins: $EDGEEMO_DEVICES, ./devices, the package)", cols,
                      left=cols, wrap=cols[1:])
    for name, path in list_profiles().items():
        try:
            p = read_profile_file(path)
        except EdgeemoError as exc:
            table.add_row(name, styled("invalid", "red"), str(exc)[:80], str(path))
            continue
        ok, why = p.matches()
        targets = "; ".join(f"{t.backend}/{t.device} {','.join(t.precisions)}" for t in p.targets)
        table.add_row(name, ("yes: " if ok else "no: ") + why, targets, str(path))
    console.print(table)


@click.command("bench")
@click.option("--device", default="auto", show_default=True,
              help="Profile name (cpu, jetson, rpi, intel, ...) or a profile file; auto = detect this machine.")
@click.option("--model", "models", multiple=True, default=(",".join(DEFAULT_MODELS),), show_default=True,
              help="'default', registry names, .pt or FP32 .onnx files (repeat or comma-separate); "
                   "'none' for vision-LLM rows only.")
@click.option("--data", type=click.Path(), default=None,
              help="Labelled faces (fer2013.npz) for accuracy and INT8 calibration; without it: latency, memory, size.")
@click.option("--split", default="auto", show_default=True, help="Split to score; auto = PrivateTest when present.")
@click.option("--labels", type=click.Choice(["fer2013", "ferplus"]), default="fer2013", show_default=True,
              help="Score every row against FER2013's labels or the FER+ majority (faces without one left out).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N faces of the split.")
@click.option("--backend", "backends", multiple=True, help="Only these of the profile's backends.")
@click.option("--precision", "precisions", multiple=True, help="Only these precisions (fp32, fp16, int8).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per runtime [default: the profile's].")
@click.option("--warmup", type=int, default=None, help="Warm-up runs before timing [profile].")
@click.option("--min-runs", type=int, default=None, help="Timed single-face runs, at least [profile].")
@click.option("--min-seconds", type=float, default=None, help="Timed seconds per row, at least [profile].")
@click.option("--max-seconds", type=float, default=None, help="Stop timing a row after this long [profile].")
@click.option("--throughput-batch", type=int, default=None, help="Batch size for throughput [profile: 32].")
@click.option("--throughput-seconds", type=float, default=None, help="Timed seconds at that batch [profile: 1].")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Seconds before a row is stopped [profile].")
@click.option("--export-dir", type=click.Path(), default="export", show_default=True,
              help="Where artifacts are built and reused (one folder per model).")
@click.option("--rebuild", is_flag=True, help="Export every artifact again instead of reusing it.")
@click.option("--budget", type=float, default=None,
              help="INT8: largest accepted PublicTest accuracy drop when exporting [0.01].")
@click.option("--out", type=click.Path(), default=None,
              help="Output stem: writes STEM.json, .csv, .md, .png [default: runs/bench_DEVICE].")
@click.option("--no-plot", is_flag=True, help="Skip the Pareto PNG.")
@click.option("--min-accuracy", type=float, default=None,
              help="Exit with code 1 when a measured row's accuracy is below this (a CI gate).")
@click.option("--vlm", "vlms", multiple=True,
              help="Add a zero-shot vision-LLM row: llava:MODEL.gguf:MMPROJ.gguf, openai:MODEL, or published:FILE.csv "
                   "(answers read from a file, matched by face name) (repeatable).")
@click.option("--vlm-opt", "vlm_opts", multiple=True,
              help="Vision-LLM option KEY=VALUE over the profile's [vlm] table, e.g. n_gpu_layers=-1, "
                   "base_url=http://127.0.0.1:8000/v1, max_cost=2 (repeatable).")
@click.option("--vlm-limit", type=click.IntRange(min=1), default=None,
              help="Vision-LLM rows score only the first N faces [default: the same faces as the models].")
@click.option("--vlm-cache", type=click.Path(), default=str(DEFAULT_CACHE),
              show_default="~/.cache/edgeemo/vlm-cache.sqlite",
              help="API rows reuse answers from this response cache (llama.cpp rows always ask the model).")
@click.option("--vlm-refresh", is_flag=True, help="API rows ask the model again instead of reusing cached answers.")
@click.option("--host", "hosts", multiple=True,
              help="Run on this board over SSH (user@host[:port]); repeat for a fleet.")
@click.option("--remote-python", default="python3", show_default=True, help="Python with edgeemo on the board.")
@click.option("--remote-dir", default=None, help="Working folder on the board [default: a new temporary one].")
@click.option("--ssh-option", "ssh_options", multiple=True,
              help="Extra ssh/scp -o option, e.g. IdentityFile=~/.ssh/jetson (repeatable).")
@click.option("--keep-remote", is_flag=True, help="Leave the board's working folder in place.")
@click.option("--force", is_flag=True, help="Run a profile even though this machine does not match it.")
@click.option("--list-devices", is_flag=True, help="List the device profiles and which matches this machine.")
def bench(device, models, data, split, labels, limit, backends, precisions, threads, warmup, min_runs, min_seconds,
          max_seconds, throughput_batch, throughput_seconds, timeout_s, export_dir, rebuild, budget, out, no_plot,
          min_accuracy, vlms, vlm_opts, vlm_limit, vlm_cache, vlm_refresh, hosts, remote_python, remote_dir,
          ssh_options, keep_remote, force, list_devices) -> None:
    """Accuracy, macro-F1, latency (mean/std/p50..p99), throughput, cold start, peak memory and size
    for each model × backend × precision of a device profile (shipped: edgeemo/bench/devices/*.toml)."""
    from .profiles import detect_device, load_profile
    from .sweep import BenchOptions

    console = _console()
    if list_devices:
        _list_devices(console)
        return
    _check_options(data, min_accuracy, vlms, hosts, device, labels)
    profile = detect_device() if device == "auto" else load_profile(device)
    if device == "auto":
        console.print(f"device profile: {profile.name} ({profile.path}), detected: {profile.matches()[1]}")
    opts = BenchOptions(threads=threads, warmup=warmup, min_runs=min_runs, min_seconds=min_seconds,
                        max_seconds=max_seconds, throughput_batch=throughput_batch,
                        throughput_min_seconds=throughput_seconds, timeout_s=timeout_s,
                        rebuild=rebuild, budget=budget, backends=csv_list(backends), precisions=csv_list(precisions))
    model_list = list(dict.fromkeys(m.strip() for v in models for m in v.split(",") if m.strip()))
    model_list = [] if model_list == ["none"] else model_list  # vision-LLM rows only
    stem = Path(out) if out else RUNS / f"bench_{profile.name}"
    check_outputs(stem, export_dir if not hosts else None, data, plot=not no_plot)
    common = dict(data=data, split=split, limit=limit, export_dir=export_dir, opts=opts, command=command_line())
    previous_term = signal.signal(signal.SIGTERM, _stop_on_sigterm)  # a stopped run still writes its files
    if hosts:
        from .fleet import run_fleet

        results, failed = run_fleet(hosts, profile, model_list, stem, ssh_options=tuple(ssh_options),
                                    python=remote_python, remote_dir=remote_dir, keep=keep_remote, force=force,
                                    log=console.print, **common)
    else:
        vlm = dict(vlms=[parse_vlm_spec(v) for v in vlms], vlm_opts=tuple(vlm_opts), vlm_limit=vlm_limit,
                   vlm_cache=vlm_cache, vlm_refresh=vlm_refresh, labels=labels)
        results, failed = [(stem, _run_here(profile, model_list, stem, force, console, **common, **vlm))], []
    signal.signal(signal.SIGTERM, previous_term)
    _finish(results, failed, len(hosts), min_accuracy, no_plot, console)


def _check_options(data, min_accuracy, vlms, hosts, device, labels) -> None:
    if min_accuracy is not None and not data:
        raise EdgeemoError("--min-accuracy needs labelled faces to measure accuracy: pass --data fer2013.npz")
    for v in vlms:
        parse_vlm_spec(v)
    if vlms and hosts:
        raise EdgeemoError("--vlm rows run on this machine only; to measure a vision LLM on a board, run "
                           "'edgeemo bench --vlm ...' on the board itself")
    if hosts and labels != "fer2013":
        raise EdgeemoError("--labels ferplus is measured on this machine only; on a board, bench with FER2013 labels")
    if hosts and device == "auto":
        raise EdgeemoError("--host needs the board's profile: add --device NAME (jetson, rpi, cpu, ... see "
                           "--list-devices) or --device path/to/profile.toml")


def _run_here(profile, models: list[str], stem: Path, force: bool, console, **kwargs) -> dict:
    """The bench on this machine: plan and build, then the sweep (with a progress bar on a terminal);
    the JSON is rewritten after every row."""
    from .profiles import check_profile_fits
    from .report import write_json
    from .sweep import open_bench

    if not force:
        check_profile_fits(profile)
    stem.parent.mkdir(parents=True, exist_ok=True)

    def save_partial(result: dict) -> None:
        write_json(result, stem.with_name(stem.name + ".json"))

    with open_bench(profile, models, log=console.print, **kwargs) as b:
        try:
            b.plan(console.print)  # builds before the progress bar: the build log writes to the terminal's files
        except KeyboardInterrupt as exc:
            result = b.stopped(str(exc) or "Ctrl-C", console.print)
            save_partial(result)
            return result
        if not console.is_terminal:
            return b.sweep(log=console.print, on_record=save_partial)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description:<36}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            return b.sweep(log=progress.console.print, progress=progress, on_record=save_partial)


def _finish(results: list[tuple[Path, dict]], failed: list[str], n_hosts: int, min_accuracy: float | None,
            no_plot: bool, console) -> None:
    """Print and write each result, then exit with the code the run earned."""
    from .fleet import below_accuracy
    from .report import print_table, write_outputs
    from .schema import row_label

    low = []
    for st, res in results:
        print_table(res, console)
        paths, note = write_outputs(res, st, plot=not no_plot)
        console.print("wrote " + ", ".join(str(p) for p in paths))
        if note:
            console.print(note)
        if min_accuracy is not None:
            low += below_accuracy(res, min_accuracy)
    if any(res["metadata"].get("interrupted") for _, res in results):
        sys.exit(130)
    rows = [r for _, res in results for r in res["records"]]
    if rows and not any(r["status"] == "ok" for r in rows):
        click.echo(f"no row was measured: all {len(rows)} row(s) failed or were skipped (reasons above and in "
                   f"{results[0][0]}.md)", err=True)
        sys.exit(1)
    if failed:
        click.echo(f"{len(failed)} of {n_hosts} boards failed: {', '.join(failed)}", err=True)
        sys.exit(2)
    if low:
        rows = ", ".join(f"{row_label(r)} {r['accuracy']:.4f}" for r in low)
        click.echo(f"accuracy gate failed: {len(low)} row(s) below {min_accuracy}: {rows}", err=True)
        sys.exit(1)
