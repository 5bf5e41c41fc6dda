"""OpenVINO backend: runs IR (.xml/.bin) and ONNX files on an OpenVINO device (CPU by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFileError, require
from ..modelmeta import META_KEY, ModelMeta, read_onnx_meta
from .base import Backend, check_logits, check_model_io

# What OpenVINO computes in: "f32" unless a model was exported for bf16. On CPUs with AVX512_BF16
# or AMX, OpenVINO's CPU plugin would otherwise run FP32 and FP16 models in bfloat16 by default.
EXECUTION_PRECISION = {"fp32": "f32", "fp16": "f32", "int8": "f32", "bf16": "bf16"}


def execution_precision_hint(model_precision: str, asked: str | None = None) -> str:
    """The INFERENCE_PRECISION_HINT for a model: ``asked`` when given, else f32 (bf16 for a bf16 export)."""
    if asked:
        if asked not in ("f32", "bf16", "f16"):
            from ..errors import EdgeemoError

            raise EdgeemoError(f"unknown OpenVINO inference precision {asked!r}; use f32, bf16 or f16")
        return asked
    return EXECUTION_PRECISION.get(model_precision, "f32")


def _ov_dims(shape) -> list:
    return [d.get_length() if d.is_static else None for d in shape]


class OpenVinoBackend(Backend):
    name = "openvino"

    def __init__(self, path: str | Path, *, threads: int | None = None, device: str = "CPU",
                 inference_precision: str | None = None) -> None:
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
        out_shape = model.outputs[0].get_partial_shape()
        check_model_io(self.path, self.meta, _ov_dims(model.inputs[0].get_partial_shape()), _ov_dims(out_shape))
        self.device = device
        self.precision_hint = execution_precision_hint(self.meta.precision, inference_precision)
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if device.upper().split(".")[0] in ("CPU", "GPU"):  # the plugins that take a precision hint
            config["INFERENCE_PRECISION_HINT"] = self.precision_hint
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            self.compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise ModelFileError(f"{self.path}: OpenVINO cannot compile it for {device} "
                                 f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]})") from exc
        self.request = self.compiled.create_infer_request()
        pre = self.meta.preprocess  # one real output: its shape (a dynamic class axis) and finite values
        check_logits(self.path, self.meta, self.predict(np.zeros((1, pre.channels, *pre.size), np.float32)), 1)

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

    @property
    def execution_precision(self) -> str:
        """The compiled model's INFERENCE_PRECISION_HINT (f32, bf16, f16); ``int8+f32`` for INT8 models,
        whose quantized layers run in int8 and the rest at the hint."""
        try:
            hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
            hint = getattr(hint, "type_name", None) or str(hint)
        except Exception:  # a device without the property
            hint = self.precision_hint
        hint = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(str(hint), str(hint))
        return f"int8+{hint}" if self.meta.precision == "int8" else hint

    def runtime_version(self) -> str:
        return self._ov.__version__.split("-")[0]
