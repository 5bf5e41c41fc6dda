"""What a bench result says about where and how it was measured: machine, runtimes, versions,
load, data, method (everything needed to judge and reproduce the figures)."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from .profiles import Profile

NO_DATA_NOTE = (
    "accuracy needs labelled faces: pass --data fer2013.npz (FER2013 from Kaggle, 'challenges-in-representation-"
    "learning-facial-expression-recognition-challenge', converted as the README's 'Data' section says) or any "
    "labelled image folder; latency, memory and size were measured on generated inputs"
)

def runtime_versions() -> dict:
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


def memory_total_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def collect_metadata(profile: Profile, settings: dict, data_info: dict | None, command: str | None) -> dict:
    """Everything needed to judge and reproduce the figures."""
    from ..hardware import cpu_info, device_tree_model, gpu_identity, is_jetson, l4t_release, load_average
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
        "memory_total_mb": memory_total_mb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "backends": runtime_versions(),
        "device_model": device_tree_model(),
        "gpu": gpu_identity(),
        "load_average_start": load_average(),
        "device_profile": profile.to_dict(),
        "method": settings,
        "data": data_info,
        "note": None if data_info else NO_DATA_NOTE,
    }
    if is_jetson():
        from .jetson import board_state

        meta["jetson"] = {"l4t": l4t_release(), **board_state()}
    return meta
