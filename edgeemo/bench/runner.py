"""The sweep: models × profile targets × precisions, each row measured in its own subprocess.

Artifacts come from :func:`edgeemo.export.pipeline.export_model` into ``EXPORT_DIR/MODEL`` and
are reused on the next run while the source model is unchanged (``bench.stamp.json`` records the
source's SHA-256 and each artifact's size and time). A row that cannot run keeps its place in the
results with a status and the reason; Ctrl-C stops the sweep and keeps the finished rows.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import EdgeemoError, ModelFileError
from ..export.pipeline import Artifact, artifact_size_mb, export_model
from ..filehash import file_sha256
from ..formats import format_of
from ..model_files import REGISTRY_NAMES, resolve_model
from .profiles import Profile, Target
from .vlm_rows import BACKEND_NAMES, VlmSpec, base_record, run_vlm_row, with_options
from .worker import spawn

SCHEMA_VERSION = 1
STAMP = "bench.stamp.json"
DEFAULT_MODELS = ("default", "cnn1", "cnn2", "resnet50", "vgg16")
NO_DATA_NOTE = (
    "accuracy needs labelled faces: pass --data fer2013.npz (FER2013 from Kaggle, 'challenges-in-representation-"
    "learning-facial-expression-recognition-challenge', converted as the README's 'Data' section says) or any "
    "labelled image folder; latency, memory and size were measured on generated inputs"
)
RECORD_KEYS = (
    "model", "backend", "device", "precision", "status", "reason", "accuracy", "macro_f1", "n", "latency_ms",
    "throughput_fps", "throughput_batch", "cold_start_ms", "peak_rss_mb", "size_mb", "threads", "provider",
    "runtime_version", "format", "path", "model_ref",
)


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


@dataclass
class Row:
    model: str
    model_ref: str
    target: Target | None
    precision: str | None
    artifact: Artifact | None = None
    record: dict = field(default_factory=dict)  # pre-filled for rows that cannot run
    info: dict | None = None  # model_info()


def _model_name(src: Path) -> str:
    if src.suffix == ".onnx":
        from ..export.onnx_export import read_metadata

        return read_metadata(src).model
    return src.parent.name if src.name == "best.pt" else src.stem


def _file_sig(path: str) -> list:
    st = Path(path).stat()
    return [st.st_size, int(st.st_mtime)]


def _from_manifest(src_sha: str, out: Path) -> dict[tuple[str, str], Artifact]:
    """Artifacts an earlier 'edgeemo export' of the same FP32 ONNX file left in ``out``."""
    fp32 = next(out.glob("*.fp32.onnx"), None)
    if fp32 is None or file_sha256(fp32) != src_sha:
        return {}
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        arts = [Artifact(**m) for m in manifest]
    except (OSError, ValueError, TypeError):
        return {}
    return {(a.format, a.precision): a for a in arts if a.status == "ok" and a.path and Path(a.path).exists()}


def ensure_artifacts(
    src: Path, wanted: list[tuple[str, str]], out: Path, *, data: str | Path | None, budget: float = 0.01,
    n_calib: int = 512, rebuild: bool = False, log: Callable[[str], object] = print,
) -> dict[tuple[str, str], Artifact]:
    """Each wanted (format, precision) as an :class:`Artifact`, exporting only what is missing or stale."""
    out.mkdir(parents=True, exist_ok=True)
    stamp_path = out / STAMP
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    src_sha = file_sha256(src)
    have: dict[tuple[str, str], Artifact] = {}
    if not rebuild and src_sha in (stamp.get("source_sha256"), stamp.get("fp32_sha256")):
        for entry in stamp.get("artifacts", {}).values():
            a = Artifact(**{**entry["artifact"], "path": str(out / entry["file"])})
            try:
                if _file_sig(a.path) == entry["sig"]:
                    have[(a.format, a.precision)] = a
            except OSError:
                pass
    elif not rebuild and src.suffix == ".onnx":
        have = _from_manifest(src_sha, out)
    got = dict(have)
    missing = [w for w in wanted if w not in have]
    if data is None:
        for w in [w for w in missing if w[1] == "int8"]:
            got[w] = Artifact(w[0], "int8", None, status="skipped",
                              reason="INT8 needs real faces to calibrate on: pass --data fer2013.npz")
            missing.remove(w)
    if have and [w for w in wanted if w in have]:
        log(f"reusing {len([w for w in wanted if w in have])} artifact(s) in {out}")
    groups: dict[tuple[str, ...], list[str]] = {}  # precisions -> formats, one export call per group
    for fmt in dict.fromkeys(f for f, _ in missing):
        precs = tuple(p for f, p in missing if f == fmt)
        groups.setdefault(precs, []).append(fmt)
    for precs, fmts in groups.items():
        try:
            arts = export_model(src, tuple(fmts), precs, out_dir=out, data=data, budget=budget, n_calib=n_calib,
                                log=log)
        except EdgeemoError as exc:
            arts = [Artifact(f, p, None, status="failed", reason=f"export failed: {exc}") for f in fmts for p in precs]
        for a in arts:
            if (a.format, a.precision) in missing:
                got[(a.format, a.precision)] = a
    if src_sha not in (stamp.get("source_sha256"), stamp.get("fp32_sha256")) or rebuild:
        stamp = {}
    entries = stamp.get("artifacts", {})
    for (f, p), a in got.items():
        if a.status == "ok" and a.path:
            entries[f"{f}/{p}"] = {"file": os.path.relpath(a.path, out), "sig": _file_sig(a.path),
                                   "artifact": asdict(a)}
    fp32 = out / entries["onnx/fp32"]["file"] if "onnx/fp32" in entries else next(out.glob("*.fp32.onnx"), None)
    stamp = {"source": str(src), "source_sha256": src_sha,
             "fp32_sha256": file_sha256(fp32) if fp32 and fp32.exists() else None, "artifacts": entries}
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    # manifest.json (as 'edgeemo export' writes it): ours replace theirs for the same format/precision
    try:
        manifest = [m for m in json.loads((out / "manifest.json").read_text())
                    if f"{m['format']}/{m['precision']}" not in entries]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = []
    manifest += [e["artifact"] for e in entries.values()]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return got


def prepare_faces(data: str | Path, split: str | None, limit: int | None, dest: Path) -> dict:
    """Load the labelled faces once, keep the split (and the first ``limit``), save them for the workers."""
    from ..selection import select_faces

    sel = select_faces(data, split=split or "auto", limit=limit)
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dest, images=sel.faces.images, labels=sel.faces.labels.astype(np.int64))
    return {"path": str(data), "split": sel.split, "limit": limit, "n": len(sel.faces), "faces": str(dest)}


def _versions() -> dict:
    from importlib import metadata

    out: dict = {}
    for name, dists in (("onnxruntime", ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino")),
                        ("openvino", ("openvino",)), ("tensorrt", ("tensorrt", "tensorrt-cu12")),
                        ("numpy", ("numpy",)), ("torch", ("torch",))):
        for d in dists:
            try:
                out[name] = metadata.version(d)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            if name == "tensorrt":  # JetPack installs it from apt, without pip metadata
                try:
                    import tensorrt

                    out[name] = tensorrt.__version__
                except ImportError:
                    out[name] = None
            else:
                out[name] = None
    try:
        import onnxruntime as ort

        out["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        pass
    return out


def _meminfo_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def collect_metadata(profile: Profile, settings: dict, data_info: dict | None, command: str | None) -> dict:
    """Everything needed to judge and reproduce the figures."""
    from ..hardware import cpu_info, device_tree_model, gpu_identity, is_jetson, l4t_release
    from ..version import __version__, code_version, git_sha

    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "edgeemo_version": __version__,
        "code_version": code_version(),
        "git_sha": git_sha(),
        "command": command,
        "host": platform.node(),
        "cpu": cpu_info(),
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": settings["threads"],
        "memory_total_mb": _meminfo_mb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "backends": _versions(),
        "device_model": device_tree_model(),
        "gpu": gpu_identity(),
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "device_profile": profile.to_dict(),
        "method": settings,
        "data": data_info,
        "note": None if data_info else NO_DATA_NOTE,
    }
    if is_jetson():
        from .jetson import board_state

        meta["jetson"] = {"l4t": l4t_release(), **board_state()}
    return meta


def _row_record(row: Row) -> dict:
    t = row.target
    rec = {k: None for k in RECORD_KEYS}
    rec.update({"model": row.model, "model_ref": row.model_ref, "backend": t.backend if t else None,
                "device": t.device if t else None, "precision": row.precision,
                "format": format_of(t.backend) if t else None, "n": 0})
    if row.info:
        rec["model_info"] = row.info
    if row.artifact is not None:
        rec["path"] = row.artifact.path
        rec["size_mb"] = row.artifact.size_mb
    rec.update(row.record)
    return rec


def model_info(src: Path, out: Path) -> dict:
    """Which model was measured: the source file, its SHA-256 prefix, and its training state
    (best epoch of the planned epochs, PublicTest accuracy) from the exported file's metadata."""
    try:
        shown = src.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = src
    info: dict = {"source": str(shown), "sha256": file_sha256(src)[:16]}
    fp32 = next(out.glob("*.fp32.onnx"), None)
    if fp32 is None:
        return info
    from ..export.onnx_export import read_metadata

    try:
        meta = read_metadata(fp32).info
    except EdgeemoError:
        return info
    if isinstance(meta.get("epoch"), int):
        info["epoch"] = meta["epoch"] + 1
    planned = (meta.get("config") or {}).get("epochs")
    if isinstance(planned, int):
        info["epochs_planned"] = planned
    val = (meta.get("metrics") or {}).get("val_accuracy")
    if val is not None:
        info["val_accuracy"] = round(float(val), 4)
    return info


def plan_rows(models: list[str], profile: Profile, opts: BenchOptions, export_dir: Path, data: str | Path | None,
              log: Callable[[str], object] = print) -> list[Row]:
    """Resolve the models, export what each target needs, and list the rows (runnable or not)."""
    targets = [t for t in profile.targets if not opts.backends or t.backend in opts.backends]
    if not targets:
        raise EdgeemoError(f"profile {profile.name} has no target with backend {', '.join(opts.backends)}; "
                           f"it has {', '.join(dict.fromkeys(t.backend for t in profile.targets))}")
    pairs = [(t, p) for t in targets for p in t.precisions if not opts.precisions or p in opts.precisions]
    rows: list[Row] = []
    for ref in models:
        try:
            src = resolve_model(ref)
            name = _model_name(src)
        except ModelFileError as exc:
            untrained = ref.lower() in REGISTRY_NAMES
            rows.append(Row(ref, ref, None, None, record={"status": "not trained" if untrained else "failed",
                                                          "reason": str(exc)}))
            continue
        wanted = list(dict.fromkeys((format_of(t.backend), p) for t, p in pairs))
        arts = ensure_artifacts(src, wanted, export_dir / name, data=data, budget=opts.export_budget,
                                n_calib=opts.n_calib, rebuild=opts.rebuild, log=log)
        info = model_info(src, export_dir / name)
        for t, p in pairs:
            a = arts[(format_of(t.backend), p)]
            rec = {} if a.status == "ok" else {"status": a.status, "reason": a.reason}
            rows.append(Row(name, str(ref), t, p, a, rec, info))
    return rows


def run_row(row: Row, profile: Profile, opts: BenchOptions, faces: str | None) -> dict:
    """Measure one row in a fresh ``python -m edgeemo.bench.worker`` process."""
    rec = _row_record(row)
    if row.record:
        return rec
    assert row.target is not None and row.artifact is not None
    job = {
        "path": row.artifact.path, "backend": row.target.backend, "device": row.target.device,
        "threads": opts.pick(profile, "threads"), "batch": profile.batch,
        "throughput_batch": opts.pick(profile, "throughput_batch"), "warmup": opts.pick(profile, "warmup"),
        "min_runs": opts.pick(profile, "min_runs"), "min_seconds": opts.pick(profile, "min_seconds"),
        "max_seconds": opts.pick(profile, "max_seconds"),
        "throughput_min_seconds": opts.pick(profile, "throughput_min_seconds"),
        "faces": faces, "eval_batch": opts.eval_batch,
        "board_stats": "tegrastats" in (profile.memory, profile.power),
    }
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


def _row_label(row: Row | VlmSpec) -> str:
    if isinstance(row, VlmSpec):
        return f"{row.label} {BACKEND_NAMES[row.backend]}"
    return f"{row.model} {row.target.backend if row.target else ''} {row.precision or ''}".strip()


def run_bench(
    profile: Profile,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    *,
    data: str | Path | None = None,
    split: str | None = "auto",
    limit: int | None = None,
    export_dir: str | Path = "export",
    opts: BenchOptions | None = None,
    command: str | None = None,
    log: Callable[[str], object] = print,
    progress=None,
    on_record: Callable[[dict], object] | None = None,
    vlms: list[VlmSpec] | tuple[VlmSpec, ...] = (),
    vlm_opts: tuple[str, ...] = (),
    vlm_limit: int | None = None,
    vlm_cache: str | None = None,
    vlm_refresh: bool = False,
) -> dict:
    """Benchmark ``models`` on ``profile``; returns ``{schema_version, metadata, records}``.

    ``progress`` is an optional rich :class:`~rich.progress.Progress`; ``on_record`` gets the result
    after every row (the command writes the files there, so a killed run keeps what it measured).
    ``vlms`` add vision-LLM rows (see :mod:`edgeemo.bench.vlm_rows`), scored on the first
    ``vlm_limit`` faces (default: the same faces as the models).
    """
    opts = opts or BenchOptions()
    settings = {
        "threads": opts.pick(profile, "threads"), "batch": profile.batch,
        "throughput_batch": opts.pick(profile, "throughput_batch"), "warmup": opts.pick(profile, "warmup"),
        "min_runs": opts.pick(profile, "min_runs"), "min_seconds": opts.pick(profile, "min_seconds"),
        "max_seconds": opts.pick(profile, "max_seconds"),
        "throughput_min_seconds": opts.pick(profile, "throughput_min_seconds"),
        "latency": "single face (batch 1), generated input, warm-up then timed runs until min_runs and "
                   "min_seconds are both met; one fresh process per row",
    }
    with tempfile.TemporaryDirectory(prefix="edgeemo-bench-") as tmp:
        data_info = prepare_faces(data, split, limit, Path(tmp) / "faces.npz") if data else None
        if not data:
            log("no --data: measuring latency, memory and size on generated inputs; accuracy needs labelled "
                "faces (see the note at the end)")
        result = {"schema_version": SCHEMA_VERSION,
                  "metadata": collect_metadata(profile, settings, data_info, command), "records": []}
        if data_info:
            result["metadata"]["data"] = {k: v for k, v in data_info.items() if k != "faces"}
        vlm_rows = [with_options(v, profile.vlm, vlm_opts) for v in vlms]
        vlm_faces = None
        if data_info and vlm_rows:
            vlm_faces = data_info["faces"]
            if vlm_limit and vlm_limit < data_info["n"]:
                vlm_faces = prepare_faces(data, split, vlm_limit, Path(tmp) / "vlm_faces.npz")["faces"]
            result["metadata"]["data"]["vlm_n"] = min(vlm_limit or data_info["n"], data_info["n"])
        rows: list[Row | VlmSpec] = plan_rows(list(models), profile, opts, Path(export_dir), data, log=log)
        rows += vlm_rows
        task = progress.add_task("bench", total=len(rows)) if progress is not None else None
        t_start = time.perf_counter()
        try:
            for i, row in enumerate(rows):
                label = _row_label(row)
                if progress is not None:
                    progress.update(task, description=label)
                if isinstance(row, VlmSpec):
                    rec = run_vlm_row(row, vlm_faces, cache=vlm_cache, refresh=vlm_refresh,
                                      timeout_s=opts.pick(profile, "timeout_s"), threads=opts.threads)
                else:
                    rec = run_row(row, profile, opts, data_info["faces"] if data_info else None)
                result["records"].append(rec)
                if progress is None:
                    p50 = (rec.get("latency_ms") or {}).get("p50")
                    log(f"[{i + 1}/{len(rows)}] {label}: {rec['status']}"
                        + (f", p50 {p50:.3f} ms" if p50 is not None else "")
                        + (f", accuracy {rec['accuracy']:.4f}" if rec.get("accuracy") is not None else "")
                        + (f" ({(rec.get('reason') or '')[:100]})" if rec["status"] != "ok" else ""))
                else:
                    progress.advance(task)
                if on_record:
                    on_record(result)
        except KeyboardInterrupt:
            result["metadata"]["interrupted"] = True
            done = len(result["records"])
            for row in rows[done:]:
                rec = base_record(row) if isinstance(row, VlmSpec) else _row_record(row)
                if isinstance(row, VlmSpec) or not row.record:
                    rec.update(status="not run", reason="the run was interrupted (Ctrl-C) before this row")
                result["records"].append(rec)
            log(f"interrupted: kept the {done} row(s) already measured")
        result["metadata"]["seconds"] = round(time.perf_counter() - t_start, 1)
        result["metadata"]["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return result
