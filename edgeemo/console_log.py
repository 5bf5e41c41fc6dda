"""The consoles the CLI prints on, and where the runtimes' own prints go while models are built.

Messages hold file names and pip commands such as ``pip install 'edgeemo[openvino]'``; read as
rich markup, ``[openvino]`` would be taken for a style tag and vanish. So every console prints
text verbatim, and the few styled words are :class:`rich.text.Text` spans (see :func:`styled`).
onnxruntime's quantizer, NNCF and the exporters print progress of their own; inside
:func:`build_log` / :func:`runtime_output` it goes to a log file beside the artifacts instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.text import Text

FILE_WIDTH = 1000  # output to a file or pipe: tables at their natural width, lines unwrapped


def make_console(**kwargs) -> Console:
    """A :class:`Console` that never parses markup or highlights numbers in the text it prints.
    Writing to a file or a pipe rather than a terminal, it does not squeeze tables or wrap lines."""
    if "width" not in kwargs:
        stream = kwargs.get("file") or (sys.stderr if kwargs.get("stderr") else sys.stdout)
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        kwargs["width"] = None if tty else FILE_WIDTH
    return Console(markup=False, highlight=False, **kwargs)


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style`` followed by ``rest`` verbatim, e.g. a red "error:" and its message."""
    return Text.assemble((label, style), rest)


_BUILD_LOGS: list[Path] = []  # where runtime_output() sends what runtimes print (innermost last)


@contextmanager
def build_log(path: str | Path | None) -> Iterator[Path | None]:
    """Within this block, :func:`runtime_output` blocks append what they capture to ``path``."""
    if path is None:
        yield None
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _BUILD_LOGS.append(path)
    try:
        yield path
    finally:
        _BUILD_LOGS.pop()


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    try:  # C stdio buffers of the runtimes' native code
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


@contextmanager
def runtime_output() -> Iterator[None]:
    """Send what a runtime prints while it builds (Python prints and its native code's writes to file
    descriptors 1 and 2) to the current :func:`build_log` instead of the terminal. Outside a
    ``build_log`` block it changes nothing."""
    if not _BUILD_LOGS:
        yield
        return
    _flush_all()
    with open(_BUILD_LOGS[-1], "a", encoding="utf-8", errors="replace") as log:
        saved = [os.dup(1), os.dup(2)]
        old_out, old_err = sys.stdout, sys.stderr
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            sys.stdout = sys.stderr = log
            yield
        finally:
            _flush_all()
            sys.stdout, sys.stderr = old_out, old_err
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
