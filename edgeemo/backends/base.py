"""The runtime interface: load a model file, run a preprocessed batch, report metadata."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..modelmeta import ModelMeta


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

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the runtime's resources."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} {self.meta.model} {self.meta.precision} on {self.provider}>"
