"""Built artifacts, kept and reused while their source is unchanged.

Artifacts are keyed by their *source*: the hash of the weights (which a checkpoint and every ONNX
file exported from it share, see :class:`edgeemo.model_files.ModelIdentity`) and any test-time
augmentation baked into the graph. They live in ``EXPORT_DIR/NAME/KEY/`` with a ``manifest.json``,
so ``edgeemo bench --model default`` (the shipped ONNX file), ``edgeemo compare --model
benchmarks/weights/edgenet.pt`` (its checkpoint) and ``edgeemo export`` find and reuse each other's
builds. An entry is reused while its file is unchanged (size and modification time) and it was
built with the same settings (INT8: accuracy budget and calibration size); TensorRT engines are
checked by their own cache (GPU and TensorRT version, :mod:`.tensorrt_export`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..model_files import ModelIdentity

MANIFEST = "manifest.json"
BUILD_LOG = "build.log"
BUILD_VERSION = 2  # raise when a change in how artifacts are made must invalidate every cache


@dataclass
class Artifact:
    format: str
    precision: str
    path: str | None
    status: str = "ok"
    reason: str | None = None
    size_mb: float | None = None
    quantization: dict | None = field(default=None)
    seconds: float | None = None  # how long it took to build (None: reused or not built)


def artifact_size_mb(path: str | Path) -> float:
    """Size on disk, counting an OpenVINO IR's .bin with its .xml."""
    p = Path(path)
    total = p.stat().st_size
    if p.suffix == ".xml" and p.with_suffix(".bin").exists():
        total += p.with_suffix(".bin").stat().st_size
    return total / 1e6


def cache_folder(ident: ModelIdentity, export_dir: str | Path = "export") -> Path:
    """Where the artifacts of this source live: ``EXPORT_DIR/NAME/KEY``."""
    return Path(export_dir) / ident.name / ident.cache_key()


def _signature(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, int(st.st_mtime)]


class ArtifactCache:
    """The manifest of one cache folder: which artifacts of which source are there, built how."""

    def __init__(self, folder: str | Path, ident: ModelIdentity, source: str | Path, *, fresh: bool = False) -> None:
        self.folder = Path(folder)
        self.key = ident.cache_key()
        self.source = str(source)
        self.entries: dict[str, dict] = {}
        if fresh:
            return
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return
        if (isinstance(manifest, dict) and manifest.get("source_key") == self.key
                and manifest.get("build_version") == BUILD_VERSION and isinstance(manifest.get("artifacts"), dict)):
            self.entries = manifest["artifacts"]

    def get(self, fmt: str, precision: str, settings: dict | None = None) -> Artifact | None:
        """The cached artifact, if its file is unchanged and it was built with ``settings``."""
        entry = self.entries.get(f"{fmt}/{precision}")
        if not entry or fmt == "tensorrt" or entry.get("settings", {}) != (settings or {}):
            return None
        path = self.folder / entry["file"]
        try:
            if _signature(path) != entry["signature"]:
                return None
            return Artifact(**{**entry["artifact"], "path": str(path), "seconds": None})
        except (OSError, KeyError, TypeError):
            return None

    def put(self, art: Artifact, settings: dict | None = None) -> None:
        """Record a built artifact (failed ones are forgotten, so the next run tries again)."""
        key = f"{art.format}/{art.precision}"
        if art.status != "ok" or not art.path:
            self.entries.pop(key, None)
            return
        path = Path(art.path)
        self.entries[key] = {"file": os.path.relpath(path, self.folder), "signature": _signature(path),
                             "settings": settings or {}, "artifact": {**asdict(art), "path": None}}

    def files(self) -> list[Path]:
        """Every file the cached artifacts need (an IR's .bin with its .xml), for copying elsewhere."""
        out = []
        for entry in self.entries.values():
            f = self.folder / entry["file"]
            out += [f, f.with_suffix(".bin")] if f.suffix == ".xml" else [f]
        return out

    def save(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = {"source_key": self.key, "source": self.source, "build_version": BUILD_VERSION,
                    "artifacts": self.entries}
        path = self.folder / MANIFEST
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, path)
        return path
