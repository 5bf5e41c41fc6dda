"""What machine this is: CPU, NVIDIA GPU, Jetson/L4T release, Raspberry Pi model.

Every reader takes the file-system root as an argument so it can be pointed at a copy of a
board's ``/etc`` and ``/proc`` files.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

# Compute capability of Jetson modules by device-tree model (nvidia-smi is absent on most JetPacks).
_JETSON_CC = {"orin": "8.7", "xavier": "7.2", "tx2": "6.2", "nano": "5.3", "tx1": "5.3", "thor": "11.0"}


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return None


def device_tree_model(root: str | Path = "/") -> str | None:
    """The board's model string, e.g. 'NVIDIA Jetson AGX Orin Developer Kit' or 'Raspberry Pi 5 Model B Rev 1.0'."""
    root = Path(root)
    return _read(root / "proc/device-tree/model") or _read(root / "sys/firmware/devicetree/base/model")


def l4t_release(root: str | Path = "/") -> dict | None:
    """Parse ``/etc/nv_tegra_release`` (e.g. '# R36 (release), REVISION: 3.0, ...') into
    ``{"release": "36.3.0", "major": 36}``; None when the file is absent (not a Jetson)."""
    text = _read(Path(root) / "etc/nv_tegra_release")
    if not text:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return {"release": "unknown", "major": None, "raw": text.splitlines()[0][:200]}
    return {"release": f"{m.group(1)}.{m.group(2)}", "major": int(m.group(1))}


def is_jetson(root: str | Path = "/") -> bool:
    model = device_tree_model(root) or ""
    return l4t_release(root) is not None or "jetson" in model.lower()


def is_raspberry_pi(root: str | Path = "/") -> bool:
    return "raspberry pi" in (device_tree_model(root) or "").lower()


def jetson_compute_capability(model: str) -> str | None:
    low = model.lower()
    for key, cc in _JETSON_CC.items():
        if key in low:
            return cc
    return None


def cpu_info(root: str | Path = "/") -> dict:
    """CPU model name, logical cores and the SIMD flags that matter for inference."""
    text = _read(Path(root) / "proc/cpuinfo") or ""
    model = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware") and model is None:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    simd = re.compile(r"(avx|amx|sse4|fma|neon|asimd|sve|vnni|fp16|bf16|dotprod|i8mm)")
    interesting = sorted(f for f in flags if simd.match(f))
    return {
        "model": model or platform.processor() or platform.machine(),
        "arch": platform.machine(),
        "logical_cores": os.cpu_count(),
        "flags": interesting,
    }


def native_bf16_cpu(root: str | Path = "/") -> bool:
    """Whether the CPU computes bfloat16 natively (x86 AVX512_BF16 or AMX, Arm BF16), not by emulation."""
    return bool({"avx512_bf16", "amx_bf16", "bf16"} & set(cpu_info(root)["flags"]))


def load_average() -> list[float] | None:
    """1-, 5- and 15-minute load averages, rounded (None where the OS has none): a noisy machine shows here."""
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


@lru_cache(maxsize=1)
def nvidia_gpus() -> list[dict]:
    """Name, compute capability, driver and memory of each NVIDIA GPU, via nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,compute_cap,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 4:
            gpus.append({"name": parts[0], "compute_capability": parts[1], "driver": parts[2], "memory": parts[3]})
    return gpus


def gpu_identity(root: str | Path = "/") -> dict | None:
    """The GPU an engine is built for: name and compute capability, plus L4T on a Jetson."""
    if is_jetson(root):
        model = device_tree_model(root) or "NVIDIA Jetson"
        rel = l4t_release(root)
        return {"name": model, "compute_capability": jetson_compute_capability(model),
                "l4t": rel["release"] if rel else None}
    gpus = nvidia_gpus()
    if not gpus:
        return None
    g = gpus[0]
    return {"name": g["name"], "compute_capability": g["compute_capability"], "l4t": None}
