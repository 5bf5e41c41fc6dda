"""Identifying files by content: a full SHA-256, and a cheap fingerprint for multi-GB files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of the whole file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """Name, size and a hash of the first and last MiB: cheap for GGUF files of several GB, and it
    changes when the file does."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(f"{path.name}:{size}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read())
    return h.hexdigest()[:16]
