"""Output paths are checked before any work starts: writable, of the right kind, and never an input.

A run that exports, trains or measures for minutes must not fail at its last step because
``--json`` names a folder or a read-only place, and must never overwrite the data it read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import EdgeemoError


class OutputPathError(EdgeemoError):
    """An output path that cannot or must not be written."""


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _writable_dir(folder: Path, option: str, shown: Path) -> None:
    """The nearest existing folder at or above ``folder`` must be a folder we can write in."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputPathError(f"{option} {shown}: {probe} is a file, not a folder, so nothing can be written "
                              "under it; choose another path")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {shown}: the folder {probe} is not writable; choose a path you can "
                              "write to or fix its permissions")


def check_output_file(path: str | Path | None, option: str, inputs: Iterable[str | Path | None] = ()) -> Path | None:
    """Check a file to be written: not a folder, not read-only, not one of ``inputs``."""
    if path is None:
        return None
    p = Path(path).expanduser()
    for inp in inputs:
        if inp is not None and _same(p, Path(inp).expanduser()):
            raise OutputPathError(f"{option} {p} is also an input of this command; writing it would destroy "
                                  "that input: choose another output path")
    if p.is_dir():
        raise OutputPathError(f"{option} {p} is a folder; give a file name, e.g. {p / 'result'}{p.suffix or '.json'}")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError(f"{option} {p} exists and is read-only; choose another path or fix its permissions")
    _writable_dir(p.parent, option, p)
    return p


def check_output_dir(path: str | Path | None, option: str, inputs: Iterable[str | Path | None] = ()) -> Path | None:
    """Check a folder to be written into: not a file, writable (or creatable), not holding an input file."""
    if path is None:
        return None
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{option} {p} is a file, not a folder; give a folder path")
    for inp in inputs:
        if inp is not None and _same(p, Path(inp).expanduser()):
            raise OutputPathError(f"{option} {p} is also an input of this command; choose another folder")
    _writable_dir(p, option, p)
    if p.exists() and not os.access(p, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {p} is not writable; choose another folder or fix its permissions")
    return p


def write_text(path: str | Path, text: str) -> Path:
    """Write a result file atomically; a failure is one clear error that names the file."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputPathError(f"could not write {p}: {exc.strerror or exc}; choose another path") from None
    return p
