"""onnxruntime backend (the runtime core: always installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..modelmeta import meta_from_props
from .base import Backend, check_logits, check_model_io


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, path: str | Path, *, threads: int | None = None, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: no such model file")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        if providers is None:
            avail = ort.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in avail]
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(
                f"{self.path}: onnxruntime cannot load it ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); "
                "is it a complete .onnx file? Re-export it with 'edgeemo export'"
            ) from exc
        self.meta = meta_from_props(self.session.get_modelmeta().custom_metadata_map, self.path)
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name = inp.name
        check_model_io(self.path, self.meta, inp.shape, out.shape)
        pre = self.meta.preprocess  # one real output: its shape (a dynamic class axis) and finite values
        check_logits(self.path, self.meta, self.predict(np.zeros((1, pre.channels, *pre.size), np.float32)), 1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})[0]

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def runtime_version(self) -> str:
        import onnxruntime as ort

        return ort.__version__
