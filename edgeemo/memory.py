"""This process's memory, as the kernel counts it (``/proc/self/status``; ``getrusage`` elsewhere)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set so far in MB (VmHWM; ``ru_maxrss`` where /proc is absent)."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def rss_mb() -> float | None:
    """Resident set now in MB (VmRSS), or None where /proc is absent."""
    return _status_mb("VmRSS")
