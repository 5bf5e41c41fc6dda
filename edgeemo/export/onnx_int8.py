"""ONNX Runtime static INT8 quantization (QDQ), calibrated on real faces.

Two schemes: ``ort`` (uint8 asymmetric activations, int8 symmetric weights: fastest in ONNX
Runtime on CPUs) and ``tensorrt`` (int8 symmetric activations and weights, zero-point 0, float
biases and float weights behind Q/DQ pairs: what TensorRT's explicit quantization accepts).

Several recipes are tried — calibration method × per-tensor/per-channel weights — and the
one with the best held-out (PublicTest) accuracy within the accuracy budget is kept, the
way NNCF's accuracy-controlled quantization chooses. Every candidate's result is recorded
in the model's metadata under ``info.quantization``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..console_log import runtime_output
from ..errors import EdgeemoError, require
from ..scoring import score
from .calibration import QuantData
from .onnx_export import load_onnx, read_metadata, set_metadata


@dataclass(frozen=True)
class OrtRecipe:
    method: str  # MinMax | Percentile | Entropy
    per_channel: bool

    @property
    def name(self) -> str:
        return f"{self.method}/{'per-channel' if self.per_channel else 'per-tensor'}"


DEFAULT_RECIPES: tuple[OrtRecipe, ...] = tuple(
    OrtRecipe(m, pc) for m in ("MinMax", "Percentile", "Entropy") for pc in (False, True)
)


@dataclass(frozen=True)
class QdqScheme:
    """How the Q/DQ nodes are made: activation type and symmetry, and what TensorRT needs on top."""

    name: str
    activation: str  # "uint8 asymmetric" | "int8 symmetric"
    extra: tuple[tuple[str, object], ...]

    @property
    def activation_type(self):
        from onnxruntime.quantization import QuantType

        return QuantType.QInt8 if self.activation.startswith("int8") else QuantType.QUInt8


SCHEMES = {
    "ort": QdqScheme("ort", "uint8 asymmetric", (("ActivationSymmetric", False), ("WeightSymmetric", True))),
    # TensorRT: zero-point 0 everywhere, int8 activations in [-128, 127], weights in [-127, 127]; weights stay
    # float behind a Q/DQ pair and biases stay float (TensorRT quantizes both itself), as TensorRT 8.x and 10 parse.
    "tensorrt": QdqScheme("tensorrt", "int8 symmetric", (
        ("ActivationSymmetric", True), ("WeightSymmetric", True), ("AddQDQPairToWeight", True),
        ("QuantizeBias", False))),
}


def _session(path: Path, threads: int = 0):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of an ONNX file on preprocessed faces ``x`` (a recipe candidate; no edgeemo metadata needed)."""
    sess = _session(path)
    name = sess.get_inputs()[0].name
    return score(lambda xb: sess.run(None, {name: xb})[0], x, y).accuracy


def _calibration_reader(faces: np.ndarray, input_name: str, batch: int = 32):
    """Calibration batches for ``quantize_static``. Equal-sized batches only: ORT's histogram
    calibrators (Entropy, Percentile) cannot stack a shorter last batch."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            n = max(batch, len(faces) // batch * batch)
            self.items = iter([{input_name: faces[i : i + batch]} for i in range(0, min(n, len(faces)), batch)])

        def get_next(self):
            return next(self.items, None)

    return Reader()


def _try_recipe(r: OrtRecipe, qs: QdqScheme, prep: Path, out: Path, qdata: QuantData, input_name: str,
                val: tuple[np.ndarray, np.ndarray], fp32_acc: float) -> dict:
    """Quantize with one recipe and score it on the validation faces; a failure is recorded."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    t0 = time.perf_counter()
    extra = dict(qs.extra)
    if r.method == "Percentile":
        extra["CalibPercentile"] = 99.99
    try:
        with runtime_output():
            quantize_static(
                str(prep), str(out), _calibration_reader(qdata.calib, input_name),
                quant_format=QuantFormat.QDQ, per_channel=r.per_channel,
                activation_type=qs.activation_type, weight_type=QuantType.QInt8,
                calibrate_method=getattr(CalibrationMethod, r.method), extra_options=extra,
            )
        acc = onnx_accuracy(out, *val)
    except Exception as exc:  # a recipe that fails is recorded, the others still run
        return {"recipe": r.name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"recipe": r.name, "val_accuracy": acc, "drop": fp32_acc - acc, "seconds": time.perf_counter() - t0,
            "status": "ok"}


def quantize_ort_int8(
    src: str | Path,
    dst: str | Path,
    qdata: QuantData,
    *,
    recipes: tuple[OrtRecipe, ...] = DEFAULT_RECIPES,
    budget: float = 0.01,
    scheme: str = "ort",
    log=print,
) -> tuple[Path, dict]:
    """Quantize an FP32 ONNX model to INT8 QDQ in ``scheme`` (see :data:`SCHEMES`), keeping the recipe
    with the best validation accuracy."""
    onnx = require("onnx", "quantize", "INT8 quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src), Path(dst)
    if scheme not in SCHEMES:
        raise EdgeemoError(f"unknown INT8 scheme {scheme!r}; use {' or '.join(SCHEMES)}")
    meta = read_metadata(src)
    val = (meta.preprocess(qdata.val_images), qdata.val_labels)
    fp32_acc = onnx_accuracy(src, *val)
    input_name = load_onnx(src, load_external_data=False).graph.input[0].name
    who = "TensorRT" if scheme == "tensorrt" else "ORT"
    with tempfile.TemporaryDirectory() as tmp:
        prep = Path(tmp) / "prep.onnx"
        with runtime_output():
            quant_pre_process(str(src), str(prep), skip_symbolic_shape=True)
        results, outs = [], {}
        for r in recipes:
            outs[r.name] = Path(tmp) / f"{r.method}_{int(r.per_channel)}.onnx"
            rec = _try_recipe(r, SCHEMES[scheme], prep, outs[r.name], qdata, input_name, val, fp32_acc)
            results.append(rec)
            log(f"  {who} INT8 {r.name:24s} " + (f"PublicTest acc {rec['val_accuracy']:.4f} (FP32 {fp32_acc:.4f})"
                                               if rec["status"] == "ok" else rec["status"]))
        ok = [rec for rec in results if rec["status"] == "ok"]
        if not ok:
            raise EdgeemoError(f"{src}: every INT8 recipe failed: {results}")
        best = max(ok, key=lambda rec: rec["val_accuracy"])  # the first of equals, in recipe order
        meta.precision = "int8"
        meta.info["quantization"] = _report(qdata, len(val[1]), budget, fp32_acc, best, results, SCHEMES[scheme])
        model = onnx.load(str(outs[best["recipe"]]))
        if scheme == "tensorrt":
            from .qdq_check import check_tensorrt_qdq

            meta.info["quantization"]["qdq_check"] = check_tensorrt_qdq(model, str(dst))
        set_metadata(model, meta)
        dst.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(dst))
    if not meta.info["quantization"]["within_budget"]:
        log(f"  warning: the best INT8 recipe loses {best['drop']:.4f} accuracy, over the {budget} budget")
    return dst, meta.info["quantization"]


def _report(qdata: QuantData, n_val: int, budget: float, fp32_acc: float, best: dict, results: list[dict],
            qs: QdqScheme) -> dict:
    return {
        "tool": "onnxruntime.quantization.quantize_static", "format": "QDQ", "scheme": qs.name,
        "activations": qs.activation, "weights": "int8 symmetric",
        "calibration": f"{len(qdata.calib)} stratified FER2013 Training faces",
        "selection": f"best PublicTest accuracy ({n_val} faces); budget {budget:.3f} below FP32",
        "fp32_val_accuracy": fp32_acc, "chosen": best["recipe"],
        "within_budget": best["drop"] <= budget, "candidates": results,
    }
