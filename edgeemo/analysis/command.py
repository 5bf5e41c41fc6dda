"""``edgeemo analyze``: faces and emotions in photos and videos (a thin shell over :func:`run_analyze`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..console_log import make_console, styled

SHOW_LINES = 40  # images listed on the terminal when no output file is asked for


def _print_faces(console, results) -> None:
    for r in results[:SHOW_LINES]:
        if not r.ok:
            continue
        faces = "; ".join(f"{f.label} {f.confidence:.0%} at {','.join(map(str, f.box))}" for f in r.faces)
        console.print(f"{r.name}: {len(r.faces)} face(s)" + (f": {faces}" if faces else ""), soft_wrap=True)
    if len(results) > SHOW_LINES:
        console.print(f"... and {len(results) - SHOW_LINES} more images; write them all with --json or --csv")


def _print_summary(console, run, analyzer) -> None:
    from ..report import print_metrics

    ok = [r for r in run.results if r.ok]
    t = run.metadata["timing"]["ms_per_image"]
    p50 = f", {t['p50']:.1f} ms per image (p50)" if t.get("n") else ""
    console.print(f"{len(ok)} images, {sum(len(r.faces) for r in ok)} faces, "
                  f"{sum(1 for r in ok if r.faces)} images with a face{p50}", soft_wrap=True)
    if run.summary is not None:
        s = run.summary
        print_metrics({**s, "model": analyzer.classifier.meta.model, "backend": analyzer.detector.name,
                       "data": "photos (largest face per photo; no face counts wrong)",
                       "split": f"faces found in {s['detected']:.1%}"}, console)


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write every face of every image as JSON.")
@click.option("--csv", "csv_out", type=click.Path(), default=None, help="Write one CSV row per face.")
@click.option("--save-annotated", "annotated", type=click.Path(), default=None,
              help="Write a copy of each image with boxes, landmarks and labels into this folder.")
@click.option("--labels-from-folders", is_flag=True,
              help="Score the largest face of each photo against its folder's name (ROOT/<class>/photo.jpg).")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Videos: analyze every Nth frame.")
@click.option("--detector", type=click.Choice(["yunet", "haar"]), default="yunet", show_default=True,
              help="yunet ships with edgeemo (boxes and landmarks); haar is OpenCV's cascade (boxes only).")
@click.option("--detector-model", type=click.Path(), default=None, help="Replace the detector's file.")
@click.option("--align/--no-align", default=True, show_default=True,
              help="Warp each face onto the FER-like template from its landmarks (yunet), or crop its box.")
@click.option("--detect-width", type=click.IntRange(min=0), default=640, show_default=True,
              help="Detect on images downscaled to this width (0 = full size).")
@click.option("--min-face", type=click.IntRange(min=1), default=None,
              help="Smallest face side in pixels [detector's default].")
@click.option("--model", default="default", show_default=True, help="'default', 'fast' (shipped) or a model file.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "int8"]), default="auto", show_default=True,
              help="The shipped model's FP32 or INT8 file; auto = INT8 where measured faster here.")
@click.option("--backend", default="auto", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads for inference and OpenCV [default: the runtimes' choice].")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Faces classified together.")
def analyze(paths, json_out, csv_out, annotated, labels_from_folders, every, detector, detector_model, align,
            detect_width, min_face, model, precision, backend, threads, batch_size) -> None:
    """Find every face in photos and videos and classify its emotion.

    PATHS are image files, folders (searched recursively), glob patterns or videos. Unreadable
    files are reported one line each and the run goes on; the exit code is 1 if any failed.
    """
    import cv2
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..outputs import check_output_dir, check_output_file
    from .analyzer import Analyzer
    from .inputs import count_items
    from .run import run_analyze

    console, err = make_console(), make_console(stderr=True)
    check_output_file(json_out, "--json", paths)  # before any work: writable, and never one of the inputs
    check_output_file(csv_out, "--csv", [*paths, json_out])
    check_output_dir(annotated, "--save-annotated", paths)
    if threads:
        cv2.setNumThreads(threads)
    an = Analyzer(model, detector=detector, detector_model=detector_model, align=align, precision=precision,
                  backend=backend, threads=threads, detect_width=detect_width, min_face=min_face,
                  batch_size=batch_size)
    err.print(f"model {Path(str(an.classifier.path)).name}: {an.classifier.precision_choice.describe()}; "
              f"detector {detector}" + (", aligned crops" if an.describe()["crops"]["aligned"] else ", box crops"),
              soft_wrap=True)
    progress = Progress(TextColumn("analyzing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, disable=not err.is_terminal, transient=True)
    with progress:
        task = progress.add_task("analyze", total=None)

        def start(files):
            progress.update(task, total=count_items(files, every))

        def problem(line):
            progress.console.print(styled("skipped:", "yellow", f" {line}"), soft_wrap=True)

        run = run_analyze(paths, an, json_out=json_out, csv_out=csv_out, annotated_dir=annotated,
                          labels_from_folders=labels_from_folders, every=every, threads=threads,
                          on_result=lambda _res: progress.advance(task), on_start=start, on_problem=problem,
                          command="edgeemo analyze " + " ".join(sys.argv[2:]))
    if not (json_out or csv_out or labels_from_folders):
        _print_faces(console, run.results)
    _print_summary(console, run, an)
    for path in run.written:
        console.print(f"wrote {path}", soft_wrap=True)
    an.close()
    if run.failed:
        err.print(f"{run.failed} input(s) could not be analyzed (listed above)")
        sys.exit(1)
