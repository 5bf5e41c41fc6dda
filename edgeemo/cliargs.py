"""Small helpers the subcommands share: list options, the command line as typed, default output paths."""

from __future__ import annotations

import sys
from pathlib import Path

RUNS = Path("runs")  # git-ignored: where commands write their outputs unless told otherwise


def csv_list(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Accept both repeated options and comma lists: ``--format onnx,openvino``."""
    out: list[str] = []
    for v in values:
        out += [x.strip().lower() for x in v.split(",") if x.strip()]
    return tuple(dict.fromkeys(out))


def command_line() -> str | None:
    """``edgeemo ARGS`` as typed, for a result's metadata (None when not run as the edgeemo command)."""
    if Path(sys.argv[0]).name in ("edgeemo", "cli.py", "__main__.py"):
        return "edgeemo " + " ".join(sys.argv[1:])
    return None
