"""``analyze`` as one library call: inputs → analyzer → JSON/CSV/annotated images (+ score)."""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2

from ..errors import EdgeemoError
from ..labels import EXCLUDED
from ..version import code_version
from .analyzer import Analyzer
from .inputs import expand_inputs, folder_label, iter_items
from .outputs import save_annotated, write_csv, write_json
from .results import ImageResult
from .scoring import score_photos, timing_summary


@dataclass
class AnalyzeRun:
    """What an ``analyze`` run did: every result, the problems (one line each), the score and metadata."""

    results: list[ImageResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: dict | None = None
    metadata: dict = field(default_factory=dict)
    written: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.problems)


def _check_labels(files: Sequence[Path]) -> None:
    unlabelled = [p for p in files if folder_label(p) is None]
    if unlabelled:
        show = ", ".join(str(p) for p in unlabelled[:3])
        raise EdgeemoError(f"--labels-from-folders: {len(unlabelled)} file(s) are not in a folder named after an "
                           f"emotion class (e.g. {show}); arrange them as ROOT/<class>/photo.jpg with class names "
                           "such as angry, happy, neutral, or leave --labels-from-folders out")


def _metadata(analyzer: Analyzer, inputs: Sequence[str], every: int, threads: int | None,
              command: str | None) -> dict:
    import onnxruntime

    from ..hardware import cpu_info

    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "edgeemo_version": code_version(),
            "command": command,
            "inputs": [str(p) for p in inputs], "every": every, "threads": threads,
            **analyzer.describe(), "cpu": cpu_info(), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "opencv": cv2.__version__}


def run_analyze(inputs: Sequence[str | Path], analyzer: Analyzer, *, json_out: str | Path | None = None,
                csv_out: str | Path | None = None, annotated_dir: str | Path | None = None,
                labels_from_folders: bool = False, every: int = 1, threads: int | None = None,
                on_result: Callable[[ImageResult], None] | None = None,
                on_start: Callable[[list[Path]], None] | None = None,
                on_problem: Callable[[str], None] | None = None, command: str | None = None) -> AnalyzeRun:
    """Analyze every image and video frame ``inputs`` name, write the outputs asked for, and score
    the largest face of each photo against its folder's class when ``labels_from_folders``.

    Unreadable files are problems of the run, not errors: each becomes one line in
    ``run.problems`` (and a call of ``on_problem``) and the run goes on. ``on_start(files)`` and
    ``on_result(result)`` report progress.
    """
    say = on_problem or (lambda _line: None)
    files, problems = expand_inputs(inputs)
    if not files:
        raise EdgeemoError("nothing to analyze: " + "; ".join(problems))
    if labels_from_folders:
        _check_labels(files)
    run = AnalyzeRun(problems=problems,
                     metadata=_metadata(analyzer, [str(i) for i in inputs], every, threads, command))
    for line in problems:
        say(line)
    roots = [Path(i) for i in inputs if Path(i).is_dir()]
    analyzer.keep_images = annotated_dir is not None
    if on_start:
        on_start(files)
    for res in analyzer.analyze_many(iter_items(files, every, labels_from_folders)):
        if res.error:
            run.problems.append(res.error)
            say(res.error)
        elif annotated_dir is not None and res.image is not None:
            save_annotated(Path(annotated_dir), res, res.image, roots)
        res.image = None
        run.results.append(res)
        if on_result:
            on_result(res)
    run.metadata["timing"] = timing_summary(run.results)
    if labels_from_folders:
        run.summary = score_photos(run.results, analyzer.classes)
        run.summary["excluded"] = sum(1 for p in files if folder_label(p) == EXCLUDED)  # contempt and the like
    if json_out:
        write_json(json_out, run.results, run.metadata, run.summary)
        run.written.append(str(json_out))
    if csv_out:
        write_csv(csv_out, run.results)
        run.written.append(str(csv_out))
    if annotated_dir is not None:
        run.written.append(f"{annotated_dir}/ ({sum(1 for r in run.results if r.ok)} annotated images)")
    return run
