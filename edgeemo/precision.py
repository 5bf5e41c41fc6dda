"""Which precision of a shipped model to run: INT8 where it is measured faster on this machine.

edgeemo ships each of its models (``default``, ``fast``) twice, FP32 and calibrated INT8 (same labels,
same preprocessing; INT8 scores within noise of FP32). ``precision="auto"`` times both
side by side on this machine, one face at a time with the runtime and threads asked for, and
runs INT8 when it is clearly faster (at most :data:`INT8_IF_RATIO` of FP32's median), else FP32.
The decision is cached per machine, runtime, threads and model files, so it is measured once.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import EdgeemoError
from .filehash import file_sha256
from .model_files import SHIPPED, ShippedModel

PRECISIONS = ("auto", "fp32", "int8")
INT8_IF_RATIO = 0.9  # INT8 must be at least 10% faster: FP32 is the exact reference
CACHE_ENV = "EDGEEMO_CACHE_DIR"


@dataclass
class PrecisionChoice:
    """The precision that runs and why: ``how`` is ``asked``, ``measured``, ``cached`` or ``file``."""

    precision: str
    path: str
    how: str
    fp32_ms: float | None = None
    int8_ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.how in ("measured", "cached") and self.fp32_ms and self.int8_ms:
            when = "measured now" if self.how == "measured" else "measured earlier, cached"
            return (f"{self.precision.upper()} ({when} on this machine: INT8 {self.int8_ms:.2f} ms, "
                    f"FP32 {self.fp32_ms:.2f} ms per face)")
        return f"{self.precision.upper()} ({'as asked' if self.how == 'asked' else 'the model file given'})"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "edgeemo")


def _machine_key(backend, threads: int | None, shipped: ShippedModel = SHIPPED["default"]) -> str:
    from .hardware import cpu_info

    cpu = cpu_info()
    ident = [cpu["model"], cpu["arch"], cpu["logical_cores"], cpu["flags"], platform.system(), backend.name,
             backend.provider, backend.runtime_version(), threads or 0,
             file_sha256(shipped.fp32), file_sha256(shipped.int8)]
    return hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()[:24]


def _read_cache(key: str) -> dict | None:
    try:
        return json.loads((cache_dir() / "precision.json").read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def _write_cache(key: str, record: dict) -> None:
    path = cache_dir() / "precision.json"
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
        data = data if isinstance(data, dict) else {}
        data[key] = record
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass  # a read-only home: the choice is measured again next time, nothing worse


def time_both(fp32, int8) -> tuple[float, float]:
    """Median ms per single face of two opened backends, timed interleaved."""
    from .timing import time_interleaved

    pre = fp32.meta.preprocess
    face = np.random.default_rng(0).integers(0, 256, (1, *pre.size), dtype=np.uint8)
    x = pre(face)
    res = time_interleaved({"fp32": lambda: fp32.predict(x), "int8": lambda: int8.predict(x)},
                           warmup=5, min_runs=40, min_seconds=0.1, chunk=5, max_seconds=2.0)
    return res["fp32"]["p50"], res["int8"]["p50"]


def open_shipped(name: str = "default", precision: str = "auto", backend: str = "auto", threads: int | None = None):
    """Open the shipped model ``name`` at ``precision`` (``auto``, ``fp32``, ``int8``); returns
    (backend, :class:`PrecisionChoice`)."""
    from .backends import open_backend

    if precision not in PRECISIONS:
        raise EdgeemoError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    shipped = SHIPPED[name]
    kwargs = {"threads": threads} if threads else {}
    if precision != "auto" or not shipped.int8.exists():
        path = shipped.int8 if precision == "int8" else shipped.fp32
        if not path.exists():
            raise EdgeemoError(f"the shipped {precision.upper()} model {path} is missing; reinstall edgeemo")
        ran = "int8" if precision == "int8" else "fp32"  # auto without an INT8 file runs FP32
        return open_backend(path, backend, **kwargs), PrecisionChoice(ran, str(path), "asked" if precision != "auto"
                                                                      else "file")
    fp32 = open_backend(shipped.fp32, backend, **kwargs)
    key = _machine_key(fp32, threads, shipped)
    cached = _read_cache(key)
    if cached:
        fp32_ms, int8_ms, how = float(cached["fp32_ms"]), float(cached["int8_ms"]), "cached"
        int8 = open_backend(shipped.int8, backend, **kwargs) if int8_ms <= INT8_IF_RATIO * fp32_ms else None
    else:
        int8 = open_backend(shipped.int8, backend, **kwargs)
        fp32_ms, int8_ms = time_both(fp32, int8)
        how = "measured"
        _write_cache(key, {"fp32_ms": fp32_ms, "int8_ms": int8_ms})
    if int8 is not None and int8_ms <= INT8_IF_RATIO * fp32_ms:
        fp32.close()
        return int8, PrecisionChoice("int8", str(shipped.int8), how, fp32_ms, int8_ms)
    if int8 is not None:
        int8.close()
    return fp32, PrecisionChoice("fp32", str(shipped.fp32), how, fp32_ms, int8_ms)
