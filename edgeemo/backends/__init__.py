"""Runtime backends behind one interface; choose by name or ``auto`` (by file type)."""

from __future__ import annotations

import importlib
from numbers import Integral
from pathlib import Path

from ..errors import EdgeemoError, MissingExtraError, import_module
from ..formats import RUNTIMES, SUFFIX_RUNTIME
from .base import Backend


def backend_names() -> list[str]:
    return list(RUNTIMES)


def backend_class(name: str) -> type[Backend]:
    if name not in RUNTIMES:
        raise EdgeemoError(f"unknown backend {name!r}; choose one of auto, {', '.join(RUNTIMES)}")
    rt = RUNTIMES[name]
    try:
        import_module(rt.needs)
    except ImportError:
        if name == "tensorrt":
            from .tensorrt_runtime import MissingTensorRT

            raise MissingTensorRT() from None
        raise MissingExtraError(rt.needs, rt.extra, f"The {name} backend") from None
    return getattr(importlib.import_module(f".{rt.module}", __name__), rt.cls)


def available_backends() -> dict[str, bool]:
    out = {}
    for name, rt in RUNTIMES.items():
        try:
            import_module(rt.needs)
            out[name] = True
        except ImportError:
            out[name] = False
    return out


def choose_backend(path: str | Path, backend: str = "auto") -> str:
    path = Path(path)
    if backend != "auto":
        return backend
    name = SUFFIX_RUNTIME.get(path.suffix.lower())
    if name is None:
        raise EdgeemoError(
            f"{path}: cannot tell which runtime runs a {path.suffix or 'suffix-less'} file; "
            f"give --backend ({', '.join(RUNTIMES)}) or use one of {', '.join(SUFFIX_RUNTIME)}"
        )
    return name


def open_backend(path: str | Path, backend: str = "auto", **kwargs) -> Backend:
    """Open a model file in a runtime (``auto`` picks it from the file type)."""
    threads = kwargs.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 0):
        raise EdgeemoError(f"threads must be a whole number, 1 or more (0 or None: the runtime's default), "
                           f"got {threads!r}")
    return backend_class(choose_backend(path, backend))(path, **kwargs)


__all__ = ["Backend", "open_backend", "choose_backend", "backend_names", "backend_class", "available_backends"]
