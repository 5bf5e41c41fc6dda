"""One bench row per fresh process: :func:`spawn` runs ``python -m MODULE`` with a JSON job on stdin;
the module's :func:`run_job` measures it and prints one line ``EDGEEMO_RECORD {json}`` on stdout.
A crash, a timeout or a process that printed no record comes back as a record with a status and
the reason, so one bad row never stops a sweep."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable

MARKER = "EDGEEMO_RECORD "


def rounded(obj, digits: int = 4):
    """Floats to ``digits`` decimals (0.1 µs for milliseconds): readable files, no false precision."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rounded(v, digits) for v in obj]
    return obj


def spawn(module: str, job: dict, timeout_s: float) -> dict:
    """Run ``python -m module`` with ``job`` on stdin in a fresh process and return its record;
    a timeout or a process that printed no record comes back as a record with status and reason."""
    import subprocess

    try:
        res = subprocess.run([sys.executable, "-m", module], input=json.dumps(job), capture_output=True, text=True,
                             timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"the row took over {timeout_s:.0f} s and was stopped (the profile's "
                                               "timeout_s or --timeout sets the limit)"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith(MARKER)]
    if not lines:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        return {"status": "failed", "reason": f"the measuring process exited with code {res.returncode} "
                                              f"without a result: {' | '.join(tail)[-500:]}"}
    return json.loads(lines[-1][len(MARKER):])


def run_job(measure_fn: Callable[[dict], dict]) -> int:
    """Read the job from stdin, measure it, print the record line; any failure becomes the record."""
    job = json.loads(sys.stdin.read())
    try:
        rec = measure_fn(job)
    except Exception as exc:  # any failure becomes the row's status and reason
        from ..errors import EdgeemoError

        reason = str(exc) if isinstance(exc, EdgeemoError) else f"{type(exc).__name__}: {exc}"
        rec = {"status": "failed", "reason": reason.strip()[:1000]}
        if not isinstance(exc, EdgeemoError):
            rec["traceback"] = traceback.format_exc()[-2000:]
    sys.stdout.write("\n" + MARKER + json.dumps(rec) + "\n")
    sys.stdout.flush()
    return 0
