"""The sweep: models × profile targets × precisions, each row measured in its own subprocess.

:func:`open_bench` saves the faces to score (a bad ``--data`` fails at once); :meth:`Bench.plan`
resolves the models, builds (or reuses) their artifacts after a one-line plan and lists the rows;
:meth:`Bench.sweep` measures them, calling ``on_record`` after every row so a killed run keeps what it
measured. A row that cannot run keeps its place with a status and the reason; Ctrl-C (or SIGTERM)
stops the run and keeps the finished rows, the others marked 'not run' (:func:`mark_interrupted`).
:func:`run_bench` does it all.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EdgeemoError
from ..export.cache import Artifact, artifact_size_mb
from ..formats import format_of
from ..hardware import load_average
from ..models import PAPER_MODELS
from .artifacts import ModelSource, build_all, model_info, plan_builds, resolve_sources
from .environment import collect_metadata
from .jobs import spawn
from .profiles import Profile, Target
from .schema import SCHEMA_VERSION, empty_record, row_label
from .vlm_options import BACKEND_NAMES, VlmSpec, with_options
from .vlm_rows import base_record, run_vlm_row

DEFAULT_MODELS = ("default", *PAPER_MODELS)  # the shipped model beside the paper's four
_MEASURE_KEYS = ("threads", "throughput_batch", "warmup", "min_runs", "min_seconds", "max_seconds",
                 "throughput_min_seconds")


@dataclass
class BenchOptions:
    """Measurement settings; None takes the profile's value."""

    threads: int | None = None
    warmup: int | None = None
    min_runs: int | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    throughput_batch: int | None = None
    throughput_min_seconds: float | None = None
    timeout_s: float | None = None
    eval_batch: int = 128
    budget: float | None = None
    n_calib: int = 512
    rebuild: bool = False
    backends: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()

    @property
    def export_budget(self) -> float:
        return 0.01 if self.budget is None else self.budget

    def pick(self, profile: Profile, key: str):
        v = getattr(self, key)
        return getattr(profile, key) if v is None else v

    def settings(self, profile: Profile) -> dict:
        """The measurement method as the result's metadata records it."""
        return {**{k: self.pick(profile, k) for k in _MEASURE_KEYS}, "batch": profile.batch,
                "latency": "single face (batch 1), generated input, warm-up then timed runs until min_runs and "
                           "min_seconds are both met; one fresh process per row"}


@dataclass
class Row:
    model: str
    model_ref: str
    target: Target | None
    precision: str | None
    artifact: Artifact | None = None
    record: dict = field(default_factory=dict)  # pre-filled for rows that cannot run
    info: dict | None = None  # artifacts.model_info()


def row_record(row: Row) -> dict:
    """The row's record before it is measured (complete for a row that cannot run)."""
    t = row.target
    rec = empty_record(model=row.model, model_ref=row.model_ref, backend=t.backend if t else None,
                       device=t.device if t else None, precision=row.precision,
                       format=format_of(t.backend) if t else None)
    if row.info:
        rec["model_info"] = row.info
    if row.artifact is not None:
        rec["path"], rec["size_mb"] = row.artifact.path, row.artifact.size_mb
    rec.update(row.record)
    return rec


def target_pairs(profile: Profile, opts: BenchOptions) -> list[tuple[Target, str]]:
    """The profile's (target, precision) rows, narrowed by ``--backend`` and ``--precision``."""
    targets = [t for t in profile.targets if not opts.backends or t.backend in opts.backends]
    if not targets:
        raise EdgeemoError(f"profile {profile.name} has no target with backend {', '.join(opts.backends)}; "
                           f"it has {', '.join(dict.fromkeys(t.backend for t in profile.targets))}")
    return [(t, p) for t in targets for p in t.precisions if not opts.precisions or p in opts.precisions]


def plan_rows(sources: list[ModelSource], pairs: list[tuple[Target, str]], built: dict[str, dict],
              export_dir: Path) -> list[Row]:
    """One row per model × (target, precision); a model that cannot run keeps one row with the reason."""
    rows: list[Row] = []
    for s in sources:
        if s.status != "ok":
            rows.append(Row(s.label, s.ref, None, None, record={"status": s.status, "reason": s.reason}))
            continue
        info = model_info(s, export_dir)
        for t, p in pairs:
            a = built[s.label][(format_of(t.backend), p)]
            rec = {} if a.status == "ok" else {"status": a.status, "reason": a.reason}
            rows.append(Row(s.label, s.ref, t, p, a, rec, info))
    return rows


def run_row(row: Row, profile: Profile, opts: BenchOptions, faces: str | None) -> dict:
    """Measure one row in a fresh ``python -m edgeemo.bench.worker`` process."""
    rec = row_record(row)
    if row.record:
        return rec
    job = {**{k: opts.pick(profile, k) for k in _MEASURE_KEYS}, "path": row.artifact.path,
           "backend": row.target.backend, "device": row.target.device, "batch": profile.batch, "faces": faces,
           "eval_batch": opts.eval_batch, "board_stats": "tegrastats" in (profile.memory, profile.power)}
    t0 = time.perf_counter()
    out = spawn("edgeemo.bench.worker", job, opts.pick(profile, "timeout_s"))
    rec.update(out)
    if out["status"] != "ok":
        return rec
    rec["threads"] = job["threads"]
    rec["row_seconds"] = round(time.perf_counter() - t0, 2)
    if row.artifact.size_mb is None and row.artifact.path:
        rec["size_mb"] = round(artifact_size_mb(row.artifact.path), 3)
    return rec


def _label(row: Row | VlmSpec) -> str:
    if isinstance(row, VlmSpec):
        return f"{row.label} {BACKEND_NAMES[row.backend]}"
    return f"{row.model} {row.target.backend if row.target else ''} {row.precision or ''}".strip()


def _log_row(log: Callable[[str], object], i: int, n: int, label: str, rec: dict) -> None:
    p50 = (rec.get("latency_ms") or {}).get("p50")
    log(f"[{i}/{n}] {label}: {rec['status']}"
        + (f", p50 {p50:.3f} ms" if p50 is not None else "")
        + (f", accuracy {rec['accuracy']:.4f}" if rec.get("accuracy") is not None else "")
        + (f" ({(rec.get('reason') or '')[:100]})" if rec["status"] != "ok" else ""))


def mark_interrupted(result: dict, rows: list, why: str, log: Callable[[str], object] = print) -> None:
    """Mark a stopped run in its result: the flag, the status, and a 'not run' record for every row left."""
    meta = result["metadata"]
    meta.update(interrupted=True, status="interrupted", interrupted_by=why)
    done = len(result["records"])
    for row in rows[done:]:
        rec = base_record(row) if isinstance(row, VlmSpec) else row_record(row)
        if isinstance(row, VlmSpec) or not row.record:
            rec.update(status="not run", reason=f"the run was interrupted ({why}) before this row")
        result["records"].append(rec)
    log(f"interrupted ({why}): kept the {done} row(s) already measured"
        + ("" if rows else "; it stopped before the rows were planned"))


@dataclass
class Bench:
    """A bench being run: faces saved for the workers; after :meth:`plan`, artifacts built and rows listed."""

    profile: Profile
    opts: BenchOptions
    models: list[str]
    data: str | Path | None
    export_dir: Path
    vlm_rows: list[VlmSpec]
    data_info: dict | None
    vlm_faces: str | None
    command: str | None
    workdir: tempfile.TemporaryDirectory
    vlm_cache: str | None = None
    vlm_refresh: bool = False
    rows: list[Row | VlmSpec] = field(default_factory=list)

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc) -> None:
        self.workdir.cleanup()

    def plan(self, log: Callable[[str], object] = print) -> list[Row | VlmSpec]:
        """Resolve the models, print the build plan, build or reuse the artifacts and list the rows."""
        pairs = target_pairs(self.profile, self.opts)
        fp = list(dict.fromkeys((format_of(t.backend), p) for t, p in pairs))
        sources = resolve_sources(self.models)
        build = dict(data=self.data, budget=self.opts.export_budget, n_calib=self.opts.n_calib,
                     rebuild=self.opts.rebuild)
        log(plan_builds(sources, fp, self.export_dir, **build).describe())
        built = build_all(sources, fp, self.export_dir, **build, log=log)
        self.rows = [*plan_rows(sources, pairs, built, self.export_dir), *self.vlm_rows]
        return self.rows

    def stopped(self, why: str, log: Callable[[str], object] = print) -> dict:
        """The result of a run stopped before its sweep (while building): every row 'not run'."""
        result = self.new_result()
        mark_interrupted(result, self.rows, why, log)
        return result

    def _measure(self, row: Row | VlmSpec) -> dict:
        if isinstance(row, VlmSpec):
            return run_vlm_row(row, self.vlm_faces, cache=self.vlm_cache, refresh=self.vlm_refresh,
                               timeout_s=self.opts.pick(self.profile, "timeout_s"), threads=self.opts.threads)
        return run_row(row, self.profile, self.opts, self.data_info["faces"] if self.data_info else None)

    def new_result(self) -> dict:
        meta = collect_metadata(self.profile, self.opts.settings(self.profile), None, self.command)
        if self.data_info:
            meta["data"] = {k: v for k, v in self.data_info.items() if k != "faces"}
            meta["note"] = None
        return {"schema_version": SCHEMA_VERSION, "metadata": meta, "records": []}

    def sweep(self, *, log: Callable[[str], object] = print, progress=None,
              on_record: Callable[[dict], object] | None = None) -> dict:
        """Measure every row; returns ``{schema_version, metadata, records}``. ``progress`` is an
        optional rich :class:`~rich.progress.Progress`."""
        result = self.new_result()
        result["metadata"].update(status="running", interrupted=False, rows_planned=len(self.rows))
        task = progress.add_task("bench", total=len(self.rows)) if progress is not None else None
        t_start = time.perf_counter()
        try:
            for i, row in enumerate(self.rows):
                if progress is not None:
                    progress.update(task, description=_label(row))
                rec = self._measure(row)
                result["records"].append(rec)
                if progress is None:
                    _log_row(log, i + 1, len(self.rows), _label(row), rec)
                else:
                    progress.advance(task)
                if on_record:
                    on_record(result)
        except KeyboardInterrupt as exc:
            mark_interrupted(result, self.rows, str(exc) or "Ctrl-C", log)
        else:
            result["metadata"]["status"] = "complete"
        result["metadata"]["seconds"] = round(time.perf_counter() - t_start, 1)
        result["metadata"]["load_average_end"] = load_average()
        return result


def _faces(data, split, limit, labels: str, vlms: list[VlmSpec], vlm_limit: int | None,
           tmp: Path) -> tuple[dict | None, str | None]:
    """Save the faces to score (and the vision LLMs' first ``vlm_limit`` of them) for the workers."""
    if not data:
        return None, None
    from .faces import save_faces

    info = save_faces(data, split, limit, tmp / "faces.npz", labels)
    vlm_faces = None
    if vlms:
        vlm_faces = info["faces"]
        if vlm_limit and vlm_limit < info["n"]:
            vlm_faces = save_faces(data, split, vlm_limit, tmp / "vlm_faces.npz", labels)["faces"]
        info["vlm_n"] = min(vlm_limit or info["n"], info["n"])
    return info, vlm_faces


def open_bench(
    profile: Profile,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    *,
    data: str | Path | None = None,
    split: str | None = "auto",
    limit: int | None = None,
    labels: str = "fer2013",
    export_dir: str | Path = "export",
    opts: BenchOptions | None = None,
    command: str | None = None,
    log: Callable[[str], object] = print,
    vlms: list[VlmSpec] | tuple[VlmSpec, ...] = (),
    vlm_opts: tuple[str, ...] = (),
    vlm_limit: int | None = None,
    vlm_cache: str | None = None,
    vlm_refresh: bool = False,
) -> Bench:
    """Check the targets and save the faces to score (``labels``: ``fer2013`` or ``ferplus``, the FER+
    majority, for every row's accuracy). Use the result as a context manager (it holds the faces'
    temporary folder), then :meth:`Bench.plan` and :meth:`Bench.sweep`."""
    opts = opts or BenchOptions()
    target_pairs(profile, opts)  # a --backend the profile lacks fails before anything is done
    vlm_rows = [with_options(v, profile.vlm, vlm_opts) for v in vlms]
    tmp = tempfile.TemporaryDirectory(prefix="edgeemo-bench-")
    try:
        data_info, vlm_faces = _faces(data, split, limit, labels, vlm_rows, vlm_limit, Path(tmp.name))
    except BaseException:
        tmp.cleanup()
        raise
    if not data:
        log("no --data: measuring latency, memory and size on generated inputs; accuracy needs labelled faces "
            "(see the note at the end)")
    return Bench(profile, opts, list(models), data, Path(export_dir), vlm_rows, data_info, vlm_faces, command, tmp,
                 vlm_cache, vlm_refresh)


def run_bench(profile: Profile, models: list[str] | tuple[str, ...] = DEFAULT_MODELS, *, log=print, progress=None,
              on_record: Callable[[dict], object] | None = None, **kwargs) -> dict:
    """:func:`open_bench`, :meth:`Bench.plan` and :meth:`Bench.sweep`: the whole bench in one call."""
    with open_bench(profile, models, log=log, **kwargs) as bench:
        try:
            bench.plan(log)
        except KeyboardInterrupt as exc:
            return bench.stopped(str(exc) or "Ctrl-C", log)
        return bench.sweep(log=log, progress=progress, on_record=on_record)


__all__ = ["BenchOptions", "Bench", "Row", "open_bench", "run_bench", "row_record", "row_label", "mark_interrupted"]
