"""Runtime backends behind one interface; choose by name or ``auto`` (by file type)."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import EdgeemoError, MissingExtraError
from .base import Backend

# name -> (module, class, pip extra, python module that must import)
_BACKENDS: dict[str, tuple[str, str, str, str]] = {
    "onnxruntime": ("onnxruntime_backend", "OnnxRuntimeBackend", "core", "onnxruntime"),
    "openvino": ("openvino_backend", "OpenVinoBackend", "openvino", "openvino"),
    "tensorrt": ("tensorrt_backend", "TensorRTBackend", "tensorrt", "tensorrt"),
    "torch": ("torch_backend", "TorchBackend", "train", "torch"),
}
_AUTO_BY_SUFFIX = {
    ".onnx": "onnxruntime", ".xml": "openvino", ".engine": "tensorrt", ".plan": "tensorrt",
    ".pt": "torch", ".pth": "torch",
}


def backend_names() -> list[str]:
    return list(_BACKENDS)


def backend_class(name: str) -> type[Backend]:
    if name not in _BACKENDS:
        raise EdgeemoError(f"unknown backend {name!r}; choose one of auto, {', '.join(_BACKENDS)}")
    module, cls, extra, needs = _BACKENDS[name]
    try:
        importlib.import_module(needs)
    except ImportError:
        if name == "tensorrt":
            from ..export.tensorrt_export import MissingTensorRT

            raise MissingTensorRT() from None
        raise MissingExtraError(needs, extra, f"The {name} backend") from None
    return getattr(importlib.import_module(f".{module}", __name__), cls)


def available_backends() -> dict[str, bool]:
    out = {}
    for name, (_, _, _, needs) in _BACKENDS.items():
        try:
            importlib.import_module(needs)
            out[name] = True
        except ImportError:
            out[name] = False
    return out


def choose_backend(path: str | Path, backend: str = "auto") -> str:
    path = Path(path)
    if backend != "auto":
        return backend
    name = _AUTO_BY_SUFFIX.get(path.suffix.lower())
    if name is None:
        raise EdgeemoError(
            f"{path}: cannot tell which runtime runs a {path.suffix or 'suffix-less'} file; "
            f"give --backend ({', '.join(_BACKENDS)}) or use one of {', '.join(_AUTO_BY_SUFFIX)}"
        )
    return name


def open_backend(path: str | Path, backend: str = "auto", **kwargs) -> Backend:
    """Open a model file in a runtime (``auto`` picks it from the file type)."""
    return backend_class(choose_backend(path, backend))(path, **kwargs)


__all__ = ["Backend", "open_backend", "choose_backend", "backend_names", "backend_class", "available_backends"]
