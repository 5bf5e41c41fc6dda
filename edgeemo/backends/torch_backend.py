"""torch backend: runs an edgeemo checkpoint (.pt) as the full-precision reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import require
from .base import Backend, check_logits


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        torch = require("torch", "train", "Running a .pt checkpoint")
        from ..training.checkpoint import model_from_checkpoint

        self.path = Path(path)
        if threads:
            torch.set_num_threads(threads)
        self.model, self.meta = model_from_checkpoint(self.path)
        self._torch = torch
        pre = self.meta.preprocess
        check_logits(self.path, self.meta, self.predict(np.zeros((1, pre.channels, *pre.size), np.float32)), 1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model(self._torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    @property
    def provider(self) -> str:
        return "torch:cpu"

    def runtime_version(self) -> str:
        return self._torch.__version__
