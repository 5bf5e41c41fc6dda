"""OpenVINO backend: runs IR (.xml/.bin) and ONNX files on an OpenVINO device (CPU by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFileError, require
from ..modelmeta import META_KEY, ModelMeta, read_onnx_meta
from .base import Backend


class OpenVinoBackend(Backend):
    name = "openvino"

    def __init__(self, path: str | Path, *, threads: int | None = None, device: str = "CPU") -> None:
        ov = require("openvino", "openvino", "The OpenVINO backend")
        self.path = Path(path)
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: no such model file")
        if self.path.suffix == ".xml" and not self.path.with_suffix(".bin").exists():
            raise ModelFileError(f"{self.path}: its weights file {self.path.with_suffix('.bin').name} is missing")
        self._ov = ov
        core = ov.Core()
        try:
            model = core.read_model(str(self.path))
        except Exception as exc:
            raise ModelFileError(
                f"{self.path}: OpenVINO cannot read it ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})"
            ) from exc
        self.meta = self._read_meta(model)
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.device = device
        self.compiled = core.compile_model(model, device, config)
        self.request = self.compiled.create_infer_request()
        shape = model.inputs[0].get_partial_shape()
        dims = [d.get_length() if d.is_static else None for d in shape]
        expected = [self.meta.preprocess.channels, *self.meta.preprocess.size]
        if len(dims) != 4 or dims[1:] != expected:
            raise ModelFileError(f"{self.path}: input shape {shape} does not match its metadata N×{expected}")

    def _read_meta(self, model) -> ModelMeta:
        if model.has_rt_info([META_KEY, "meta"]):
            return ModelMeta.from_json(model.get_rt_info([META_KEY, "meta"]).astype(str), str(self.path))
        if self.path.suffix == ".onnx":  # ONNX read by OpenVINO: metadata from the ONNX file itself
            return read_onnx_meta(self.path)
        raise ModelFileError(
            f"{self.path}: an OpenVINO model without edgeemo metadata; "
            "export it with 'edgeemo export --format openvino'"
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.request.infer({0: np.ascontiguousarray(x, dtype=np.float32)})
        return np.array(self.request.get_output_tensor(0).data, copy=True)

    @property
    def provider(self) -> str:
        return f"openvino:{self.device}"

    def runtime_version(self) -> str:
        return self._ov.__version__.split("-")[0]
