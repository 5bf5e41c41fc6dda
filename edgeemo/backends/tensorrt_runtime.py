"""Importing TensorRT and cuda-python, which come with JetPack or NVIDIA's wheels rather than a pip
extra: where they are missing, :class:`MissingTensorRT` says what to install. Shared by the
TensorRT backend (running engines) and the export step that builds them."""

from __future__ import annotations

from ..errors import EdgeemoError


class MissingTensorRT(EdgeemoError):
    def __init__(self, what: str = "Building or running a TensorRT engine") -> None:
        super().__init__(
            f"{what} needs NVIDIA TensorRT's Python bindings and cuda-python, which are not installed. "
            "On a Jetson they come with JetPack (sudo apt install python3-libnvinfer; pip install cuda-python); "
            "on an x86 GPU machine: pip install tensorrt cuda-python"
        )


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise MissingTensorRT() from None
    return trt


def import_cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError:
            raise MissingTensorRT("Running a TensorRT engine") from None
    return cudart
