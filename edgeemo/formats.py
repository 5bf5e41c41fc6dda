"""The one table of model formats, precisions and the runtimes that run them.

``export`` writes a format, a ``backend`` runs it, ``--backend auto`` picks the runtime from the
file's suffix, and ``bench`` profiles name runtimes whose format it exports: all of them read it
from :data:`RUNTIMES`.
"""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "bf16")
# bf16 is an execution precision of OpenVINO's CPU plugin (native on AVX512_BF16/AMX CPUs): the IR holds
# FP32 weights and is marked to run in bfloat16. The other formats have no bf16 artifact.
BF16_FORMATS: tuple[str, ...] = ("openvino",)


@dataclass(frozen=True)
class Runtime:
    """A runtime edgeemo can run models in, and what it runs."""

    name: str  # the backend name: --backend, profiles' targets, bench rows
    format: str | None  # the exported format it runs (None: torch runs checkpoints, the reference)
    suffixes: tuple[str, ...]  # file types it opens; an export of ``format`` writes the first
    module: str  # edgeemo.backends submodule holding the class
    cls: str
    extra: str  # the pip extra that installs it
    needs: str  # the Python module that must import
    default_device: str  # a profile target's device when it names none


RUNTIMES: dict[str, Runtime] = {r.name: r for r in (
    Runtime("onnxruntime", "onnx", (".onnx",), "onnxruntime_backend", "OnnxRuntimeBackend", "core", "onnxruntime",
            "cpu"),
    Runtime("openvino", "openvino", (".xml",), "openvino_backend", "OpenVinoBackend", "openvino", "openvino", "CPU"),
    Runtime("tensorrt", "tensorrt", (".engine", ".plan"), "tensorrt_backend", "TensorRTBackend", "tensorrt",
            "tensorrt", "gpu"),
    Runtime("torch", None, (".pt", ".pth"), "torch_backend", "TorchBackend", "train", "torch", "cpu"),
)}

FORMATS: tuple[str, ...] = tuple(r.format for r in RUNTIMES.values() if r.format)
EXPORT_RUNTIMES: tuple[str, ...] = tuple(r.name for r in RUNTIMES.values() if r.format)  # what bench can measure
SUFFIX_RUNTIME: dict[str, str] = {s: r.name for r in RUNTIMES.values() for s in r.suffixes}


def runtime_for_format(fmt: str) -> str:
    """The backend that runs an exported ``fmt`` (``onnx`` → ``onnxruntime``)."""
    return next(r.name for r in RUNTIMES.values() if r.format == fmt)


def format_of(backend: str) -> str | None:
    """The exported format a backend runs (``openvino`` → ``openvino``; ``torch`` → None)."""
    return RUNTIMES[backend].format


def artifact_suffix(fmt: str) -> str:
    """The file suffix an export of ``fmt`` writes (``.onnx``, ``.xml``, ``.engine``)."""
    return RUNTIMES[runtime_for_format(fmt)].suffixes[0]
