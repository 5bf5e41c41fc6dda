"""The runtime interface: load a model file, run a preprocessed batch, report metadata."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import ModelFileError
from ..modelmeta import ModelMeta

EXECUTION_OF = {"fp32": "f32", "fp16": "f16", "int8": "int8", "bf16": "bf16"}
REEXPORT = "re-export it with 'edgeemo export' from its checkpoint"


def _dims(shape: Sequence) -> list[int | None]:
    """Static dimensions as ints, dynamic ones (names, None, -1, 0) as None."""
    return [int(d) if isinstance(d, int | np.integer) and d > 0 else None for d in shape]


def check_model_io(path: Path, meta: ModelMeta, input_shape: Sequence, output_shape: Sequence | None) -> None:
    """Refuse a model whose input or output disagrees with its own metadata.

    The input must be N×C×H×W with C, H, W as the metadata's preprocessing says and a dynamic
    batch N; the output N×K with K the number of classes the metadata names (``output_shape``
    None or a dynamic K: the caller checks a real output with :func:`check_logits`, as every
    backend does once when it opens a file).
    """
    expected = [meta.preprocess.channels, *meta.preprocess.size]
    dims = _dims(input_shape)
    if len(dims) != 4 or dims[1:] != expected:
        raise ModelFileError(f"{path}: its input has shape {list(input_shape)}, but its metadata says "
                             f"N×{'×'.join(map(str, expected))}; the file and its metadata disagree: {REEXPORT}")
    if dims[0] is not None:
        raise ModelFileError(f"{path}: its input has a fixed batch size of {dims[0]}; edgeemo needs a dynamic "
                             f"batch axis to score and time it: {REEXPORT} (dynamic batch)")
    if output_shape is not None:
        out = _dims(output_shape)
        if len(out) != 2 or out[1] not in (None, len(meta.classes)):
            _output_mismatch(path, meta, list(output_shape))


def check_logits(path: Path, meta: ModelMeta, logits: np.ndarray, n: int) -> None:
    """A real output must be n × (number of classes in the metadata), and finite."""
    if logits.ndim != 2 or logits.shape != (n, len(meta.classes)):
        _output_mismatch(path, meta, list(logits.shape))
    if not np.isfinite(logits).all():
        raise ModelFileError(f"{path}: its output for a blank face holds NaN or infinite values, so every "
                             f"answer would be wrong: the file is damaged or its weights overflow at its precision; "
                             f"{REEXPORT}")


def _output_mismatch(path: Path, meta: ModelMeta, shape: list) -> None:
    raise ModelFileError(f"{path}: its output has shape {shape}, but its metadata names {len(meta.classes)} "
                         f"classes ({', '.join(meta.classes)}); scoring it would mislabel every face: {REEXPORT}")


class Backend(ABC):
    """One model file opened in one runtime.

    ``predict`` takes a float32 NCHW batch already preprocessed with ``meta.preprocess``
    and returns float32 logits of shape N×len(meta.classes).
    """

    name: ClassVar[str]  # a key of edgeemo.formats.RUNTIMES (file types, pip extra)

    meta: ModelMeta
    path: Path

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray: ...

    @property
    def provider(self) -> str:
        """Where it runs, e.g. ``CPUExecutionProvider`` or ``openvino:CPU``."""
        return self.name

    def runtime_version(self) -> str:
        return "unknown"

    @property
    def execution_precision(self) -> str:
        """What the runtime computes in (recorded beside every measured row): the file's own
        precision unless the runtime says otherwise (OpenVINO reads its compiled model)."""
        return EXECUTION_OF.get(self.meta.precision, self.meta.precision)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the runtime's resources."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} {self.meta.model} {self.meta.precision} on {self.provider}>"
