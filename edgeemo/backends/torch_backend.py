"""torch backend: runs an edgeemo checkpoint (.pt) as the full-precision reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import require
from ..modelmeta import ModelMeta
from .base import Backend


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        torch = require("torch", "train", "Running a .pt checkpoint")
        from ..models import build_model
        from ..training.checkpoint import load_checkpoint, state_dict_sha256

        self.path = Path(path)
        ck = load_checkpoint(self.path)
        if threads:
            torch.set_num_threads(threads)
        self.model = build_model(ck["meta"]["model"])
        self.model.load_state_dict(ck["state_dict"])
        self.model.eval()
        self.meta = ModelMeta.from_checkpoint_meta(ck["meta"], state_dict_sha256(ck["state_dict"]))
        self._torch = torch

    def predict(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model(self._torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    @property
    def provider(self) -> str:
        return "torch:cpu"

    def runtime_version(self) -> str:
        return self._torch.__version__
