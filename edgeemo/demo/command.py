"""``edgeemo demo``: the live emotion demo from the command line (a thin shell over :func:`run_demo`)."""

from __future__ import annotations

import signal

import click

from ..console_log import make_console, styled


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt("stopped by SIGTERM")


@click.command("demo")
@click.option("--source", default="0", show_default=True,
              help="Camera index, video file, rtsp:// or http:// URL, or a folder of images.")
@click.option("--model", "model", default="default", show_default=True,
              help="'default', 'fast' (shipped) or a model file.")
@click.option("--backend", default="auto", show_default=True, help="auto, onnxruntime, openvino, tensorrt, ...")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Inference threads [default: the runtime's choice].")
@click.option("--precision", type=click.Choice(["auto", "fp32", "int8"]), default="auto", show_default=True,
              help="The shipped model's FP32 or INT8 file; auto = INT8 where measured faster here.")
@click.option("--detector", type=click.Choice(["yunet", "haar"]), default="yunet", show_default=True,
              help="yunet ships with edgeemo (boxes and landmarks); haar is OpenCV's cascade (boxes only).")
@click.option("--detector-model", type=click.Path(), default=None,
              help="Replace the detector's file: a YuNet .onnx, or another Haar cascade .xml.")
@click.option("--detect-width", type=int, default=320, show_default=True,
              help="Run detection on the frame downscaled to this width (0 = full size).")
@click.option("--min-face", type=click.IntRange(min=1), default=None,
              help="Smallest face side in pixels [yunet 16, haar 48].")
@click.option("--align/--no-align", default=True, show_default=True,
              help="Warp each face onto the FER-like template from its landmarks (yunet), or crop its box.")
@click.option("--detect-every", type=click.IntRange(min=1), default=2, show_default=True,
              help="Run the detector on every Nth frame; tracked boxes move on in between (1 = every frame).")
@click.option("--crop-scale", type=float, default=None,
              help="Crop side / detector box side, to match FER2013's framing [default: per detector].")
@click.option("--crop-shift", type=float, default=None,
              help="Move the crop down by this fraction of the box side [default: per detector].")
@click.option("--smooth", "smoothing", type=click.Choice(["ema", "window", "none"]), default="ema",
              show_default=True, help="Temporal smoothing of each face's probabilities.")
@click.option("--alpha", type=float, default=0.3, show_default=True, help="EMA weight of the newest frame.")
@click.option("--window", type=int, default=8, show_default=True, help="Frames averaged by --smooth window.")
@click.option("--web", is_flag=True,
              help="Serve the annotated stream on a local web page (the default where no window can open).")
@click.option("--gui", "force_window", is_flag=True, help="Show an OpenCV window, or stop if none can open.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser when falling back to the web page.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address --web binds.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port --web binds (0 = any free port).")
@click.option("--no-display", is_flag=True, help="No window and no web page (batch use with --output/--jsonl).")
@click.option("--output", type=click.Path(), default=None, help="Write the annotated video (.mp4, .avi, .mkv).")
@click.option("--jsonl", type=click.Path(), default=None, help="Write per-frame, per-face results as JSON lines.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
@click.option("--loop", is_flag=True, help="Restart a video file or folder when it ends.")
@click.option("--realtime/--no-realtime", default=None,
              help="Play files at their own frame rate [default: when shown, not with --no-display].")
@click.option("--stall-timeout", type=float, default=5.0, show_default=True,
              help="Stop when the source delivers no frame for this many seconds.")
def demo(source, model, backend, threads, precision, detector, detector_model, detect_width, min_face, align,
         detect_every, crop_scale, crop_shift, smoothing, alpha, window, web, force_window, no_browser, host, port,
         no_display, output, jsonl, max_frames, loop, realtime, stall_timeout) -> None:
    """Live emotion demo: detect every face, classify, track, smooth and show them.

    Shows an OpenCV window; where none can open (a headless OpenCV, no desktop) it serves the
    page at http://127.0.0.1:8000/ instead and prints the address. Press q or Esc in the window,
    or Ctrl-C, to stop.
    """

    from .pipeline import run_demo

    if sum((web, no_display, force_window)) > 1:
        raise click.UsageError("--web, --gui and --no-display contradict each other: pick one")
    console = make_console(stderr=True)
    from ..outputs import check_output_file

    src_file = source if isinstance(source, str) and not source.strip().isdigit() else None
    check_output_file(output, "--output", [src_file])
    check_output_file(jsonl, "--jsonl", [src_file, output])
    if no_display and not (output or jsonl):
        console.print(styled("note:", "yellow", " --no-display without --output or --jsonl shows and writes nothing; "
                                                 "only the summary is printed at the end (Ctrl-C stops the run)"),
                      soft_wrap=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # a service manager's stop: finish files, then exit
    summary = run_demo(
        source, model, backend,
        display="web" if web else "none" if no_display else "window" if force_window else "auto",
        detector=detector, detector_model=detector_model, detect_width=detect_width, min_face=min_face,
        align=align, detect_every=detect_every, precision=precision, browser=not no_browser,
        crop_scale=crop_scale, crop_shift=crop_shift, smoothing=smoothing, alpha=alpha, window=window,
        output=output, jsonl=jsonl, host=host, port=port, max_frames=max_frames, loop=loop, realtime=realtime,
        stall_timeout=stall_timeout, threads=threads, log=console.print,
    )
    stages = ", ".join(f"{k} {v:.1f}" for k, v in summary.stages_ms.items())
    colour = "green" if summary.stop_reason in ("ended", "max_frames", "interrupted", "closed", "stopped") else "yellow"
    console.print(styled(summary.message, colour), soft_wrap=True)
    console.print(
        f"{summary.frames} frames, {summary.face_detections} face detections, {summary.tracks} tracks, "
        f"{summary.fps:.1f} FPS (pipeline alone {summary.pipeline_fps:.1f} FPS); mean ms per frame: {stages}",
        soft_wrap=True)
    if summary.skipped_frames:
        console.print(f"skipped {summary.skipped_frames} unusable frames", soft_wrap=True)
    for path in summary.outputs:
        console.print(f"wrote {path}", soft_wrap=True)
    if summary.stop_reason in ("stalled", "disconnected", "error"):
        raise SystemExit(1)
