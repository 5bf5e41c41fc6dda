"""The bench's artifacts: which models, which (format, precision) each target needs, what is already
in the shared cache (:mod:`edgeemo.export.cache`), a one-line plan with a time estimate, and the builds.

Artifacts are keyed by their source's weights, so the bench reuses what ``edgeemo export`` and
``edgeemo compare`` built and the other way round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import EdgeemoError, ModelFileError
from ..export.cache import Artifact, ArtifactCache, cache_folder
from ..export.pipeline import export_artifacts, source_identity
from ..filehash import file_sha256
from ..model_files import REGISTRY_NAMES, SHIPPED, ModelIdentity, resolve_model


@dataclass
class ModelSource:
    """One ``--model`` entry: the file it resolved to and what it is, or why it cannot be benched."""

    ref: str
    path: Path | None = None
    ident: ModelIdentity | None = None
    status: str = "ok"  # ok | not trained | failed
    reason: str | None = None
    label: str = ""  # the row name: the model's name, made unique within one bench

    @property
    def folder(self) -> str:
        return self.ident.cache_key() if self.ident else ""


def resolve_sources(models: list[str]) -> list[ModelSource]:
    """Resolve every model reference; one that has no file or cannot be read stays, with the reason."""
    out: list[ModelSource] = []
    seen: dict[str, int] = {}
    for ref in models:
        try:
            path = resolve_model(ref)
            ident = source_identity(path)
        except ModelFileError as exc:
            untrained = ref.lower() in REGISTRY_NAMES and "no trained" in str(exc)
            out.append(ModelSource(ref, status="not trained" if untrained else "failed", reason=str(exc), label=ref))
            continue
        except EdgeemoError as exc:
            out.append(ModelSource(ref, status="failed", reason=str(exc), label=ref))
            continue
        name = f"{ident.name} ({ref})" if ref in SHIPPED else ident.name  # the shipped default is an edgenet too
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} ({ident.cache_key()[:8]})"
        out.append(ModelSource(ref, path, ident, label=label))
    return out


@dataclass
class BuildPlan:
    """What the bench will build before its first row: per model label, the missing artifacts."""

    missing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    seconds: float | None = None  # the estimate

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.missing.values())

    def describe(self) -> str:
        if not self.count:
            return "every artifact is in the cache: nothing to build"
        models = [k for k, v in self.missing.items() if v]
        about = "" if self.seconds is None else f", about {max(1, round(self.seconds / 60))} minute(s)"
        return (f"building {self.count} artifact(s) for {len(models)} model(s) ({', '.join(models)}){about} "
                "before the first row; the runtimes' messages go to build.log beside them")


def plan_builds(sources: list[ModelSource], pairs: list[tuple[str, str]], export_dir: Path, *, data, budget: float,
                n_calib: int, rebuild: bool) -> BuildPlan:
    """Which of ``pairs`` (format, precision) each source lacks in the cache, and how long building
    them should take on this machine."""
    plan = BuildPlan()
    settings = {"budget": budget, "n_calib": n_calib}
    for s in sources:
        if s.status != "ok":
            continue
        cache = ArtifactCache(cache_folder(s.ident, export_dir), s.ident, s.path, fresh=rebuild)
        wanted = list(dict.fromkeys([("onnx", "fp32"), *pairs]))
        plan.missing[s.label] = [
            (f, p) for f, p in wanted
            if not (data is None and p == "int8") and (f == "tensorrt" or cache.get(f, p, settings if p == "int8"
                                                                                     else None) is None)]
    if plan.count:
        plan.seconds = estimate_seconds(sources, plan, data, n_calib, export_dir)
    return plan


# Inference passes over the faces that each build runs: the INT8 recipe searches score every candidate
# (6 for ONNX Runtime, 3 for NNCF, plus FP32) on the PublicTest faces after calibrating on n_calib faces.
_PASSES = {("onnx", "int8"): (7, 6), ("openvino", "int8"): (4, 3)}


def estimate_seconds(sources: list[ModelSource], plan: BuildPlan, data, n_calib: int,
                     export_dir: Path | None = None) -> float | None:
    """How long the planned builds should take here: what building the same artifact of the same
    network took before in ``export_dir`` (other weights of it), else the inference work of the INT8
    recipe searches (faces × multiply-adds) over this machine's measured speed. None when neither is known."""
    past = build_history(export_dir) if export_dir is not None else {}
    rate = n_val = None
    total = 0.0
    for s in sources:
        for fmt, prec in plan.missing.get(s.label, []):
            if (s.ident.name, fmt, prec) in past:
                total += past[(s.ident.name, fmt, prec)]
                continue
            val_passes, calib_passes = _PASSES.get((fmt, prec), (0, 0))
            if val_passes:
                rate = rate or machine_macs_per_second()
                if rate is None:
                    return None
                n_val = _validation_faces(data) if n_val is None else n_val
                total += (val_passes * n_val + calib_passes * n_calib) * (s.ident.macs or 0) / rate
    return total


def build_history(export_dir: Path) -> dict[tuple[str, str, str], float]:
    """(network, format, precision) → median seconds its earlier builds took, from the cache manifests."""
    import json

    seen: dict[tuple[str, str, str], list[float]] = {}
    for manifest in Path(export_dir).glob("*/*/manifest.json"):
        try:
            entries = json.loads(manifest.read_text()).get("artifacts", {})
        except (OSError, ValueError, AttributeError):
            continue
        for key, entry in entries.items():
            secs = (entry.get("artifact") or {}).get("seconds") if isinstance(entry, dict) else None
            if isinstance(secs, int | float) and "/" in key:
                seen.setdefault((manifest.parent.parent.name, *key.split("/", 1)), []).append(float(secs))
    return {k: float(np.median(v)) for k, v in seen.items()}


def _validation_faces(data) -> int:
    if data is None:
        return 0
    from ..data import load_dataset
    from ..selection import fit_and_select_sets

    return len(fit_and_select_sets(load_dataset(data))[1])


def machine_macs_per_second(seconds: float = 0.3) -> float | None:
    """Multiply-adds per second the shipped model reaches here in onnxruntime at batch 64 (measured)."""
    from ..backends import open_backend
    from ..model_files import DEFAULT_MODEL

    try:
        with open_backend(DEFAULT_MODEL, "onnxruntime") as be:
            macs = be.meta.info.get("macs")
            if not isinstance(macs, int):
                return None
            x = be.meta.preprocess(np.zeros((64, *be.meta.preprocess.size), np.uint8))
            be.predict(x)
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                be.predict(x)
                n += len(x)
            return n * macs / (time.perf_counter() - t0)
    except EdgeemoError:
        return None


def build_all(sources: list[ModelSource], pairs: list[tuple[str, str]], export_dir: Path, *, data, budget: float,
              n_calib: int, rebuild: bool, log: Callable[[str], object] = print) -> dict[str, dict]:
    """Per model label, each wanted (format, precision) as an :class:`Artifact` (built, reused, or
    with the reason it is missing)."""
    out: dict[str, dict[tuple[str, str], Artifact]] = {}
    for s in sources:
        if s.status != "ok":
            continue
        try:
            out[s.label] = export_artifacts(s.path, pairs, export_dir=export_dir, data=data, budget=budget,
                                            n_calib=n_calib, rebuild=rebuild, log=log)
        except EdgeemoError as exc:
            out[s.label] = {p: Artifact(*p, None, status="failed", reason=f"export failed: {exc}") for p in pairs}
    return out


def model_info(s: ModelSource, export_dir: Path) -> dict:
    """Which model was measured: the source file, its SHA-256 prefix, and its training state
    (best epoch of the planned epochs, PublicTest accuracy) from the exported file's metadata."""
    try:
        shown = s.path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = s.path
    info: dict = {"source": str(shown), "sha256": file_sha256(s.path)[:16]}
    hub = ArtifactCache(cache_folder(s.ident, export_dir), s.ident, s.path).get("onnx", "fp32")
    if hub is None:
        return info
    from ..modelmeta import read_onnx_meta

    try:
        meta = read_onnx_meta(hub.path).info
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
