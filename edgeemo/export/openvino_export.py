"""ONNX FP32 → OpenVINO IR (FP32, FP16 weights) and INT8 with NNCF.

INT8 runs ``nncf.quantize`` with a few presets (MIXED, PERFORMANCE; full or fast bias
correction) on real Training faces and keeps the best on PublicTest; when that loses more than the accuracy budget on
PublicTest, NNCF's ``quantize_with_accuracy_control`` reverts the most sensitive layers to
full precision until the drop fits the budget. What was done is stored in the IR's
``rt_info`` with the rest of edgeemo's metadata.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..console_log import runtime_output
from ..errors import NotSupportedHere, require
from ..modelmeta import META_KEY, ModelMeta
from ..scoring import score
from .calibration import QuantData
from .onnx_export import read_metadata

RT_PATH = [META_KEY, "meta"]
F32 = {"INFERENCE_PRECISION_HINT": "f32"}  # recipes are scored as the backend runs them: unquantized layers in f32


def _save(model, meta: ModelMeta, dst: Path, compress_to_fp16: bool) -> Path:
    ov = require("openvino", "openvino", "OpenVINO export")
    model.set_rt_info(meta.to_json(), RT_PATH)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(dst), compress_to_fp16=compress_to_fp16)
    return dst


def _accuracy(compiled, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a compiled OpenVINO model on preprocessed faces ``x``."""
    return score(lambda xb: compiled(xb)[0], x, y).accuracy


def native_bf16(device: str = "CPU") -> tuple[bool, str]:
    """Whether OpenVINO computes bfloat16 natively on ``device`` (AVX512_BF16 or AMX), and its capabilities."""
    ov = require("openvino", "openvino", "OpenVINO export")
    try:
        caps = [str(c) for c in ov.Core().get_property(device, "OPTIMIZATION_CAPABILITIES")]
    except Exception:  # a device OpenVINO does not know here
        return False, "unknown"
    return "BF16" in caps, ", ".join(caps)


def export_openvino(src: str | Path, dst: str | Path, precision: str = "fp32") -> Path:
    """FP32, FP16 or BF16 IR from an FP32 ONNX file (``dst`` is the ``.xml``; a ``.bin`` lands beside it).

    FP32 and FP16 IRs run in f32 (the backend asks for it: OpenVINO's CPU plugin would otherwise pick
    bf16 on CPUs that have it). A BF16 IR holds FP32 weights and is marked to run in bfloat16; it is
    made only where the CPU computes bfloat16 natively.
    """
    ov = require("openvino", "openvino", "OpenVINO export")
    if precision == "bf16":
        ok, caps = native_bf16("CPU")
        if not ok:
            raise NotSupportedHere(f"this CPU has no native bfloat16 (OpenVINO CPU capabilities: {caps}); a bf16 "
                                   "row needs AVX512_BF16 or AMX")
    meta = read_metadata(src)
    meta.precision = precision
    meta.info["openvino_execution"] = "bf16" if precision == "bf16" else "f32"
    model = ov.convert_model(str(src))
    return _save(model, meta, Path(dst), compress_to_fp16=(precision == "fp16"))


def quantize_openvino_int8(
    src: str | Path, dst: str | Path, qdata: QuantData, *, budget: float = 0.01, log=print
) -> tuple[Path, dict]:
    ov = require("openvino", "openvino", "OpenVINO INT8 quantization")
    nncf = require("nncf", "openvino", "OpenVINO INT8 quantization")
    meta = read_metadata(src)
    x_val = meta.preprocess(qdata.val_images)
    y_val = qdata.val_labels
    core = ov.Core()
    fp32 = ov.convert_model(str(src))
    fp32_acc = _accuracy(core.compile_model(fp32, "CPU", F32), x_val, y_val)

    calib = nncf.Dataset([qdata.calib[i : i + 1] for i in range(len(qdata.calib))])
    # A few sensible recipes; keep the best on PublicTest (the same rule as the ORT path).
    recipes = [("MIXED", False), ("PERFORMANCE", False), ("MIXED", True)]
    candidates, best = [], None
    for preset, fast_bc in recipes:
        with runtime_output():
            q = nncf.quantize(fp32, calib, preset=getattr(nncf.QuantizationPreset, preset),
                              subset_size=len(qdata.calib), fast_bias_correction=fast_bc)
        acc = _accuracy(core.compile_model(q, "CPU", F32), x_val, y_val)
        name = f"{preset}/{'fast' if fast_bc else 'full'} bias correction"
        candidates.append({"recipe": name, "val_accuracy": acc, "drop": fp32_acc - acc})
        log(f"  OpenVINO INT8 {name:34s} PublicTest acc {acc:.4f} (FP32 {fp32_acc:.4f})")
        if best is None or acc > best[1]:
            best = (q, acc, name)
    quantized, acc, chosen = best
    report = {
        "tool": f"nncf {nncf.__version__} quantize", "chosen": chosen, "candidates": candidates,
        "calibration": f"{len(qdata.calib)} stratified FER2013 Training faces",
        "fp32_val_accuracy": fp32_acc, "val_accuracy": acc, "drop": fp32_acc - acc, "budget": budget,
        "accuracy_control": False,
    }
    if fp32_acc - acc > budget:
        val = nncf.Dataset([(x_val[i : i + 1], int(y_val[i])) for i in range(len(y_val))],
                           transform_func=lambda item: item[0])

        def validate(compiled, items) -> float:
            x = np.concatenate(list(items))
            return _accuracy(compiled, x, y_val[: len(x)])

        with runtime_output():
            quantized = nncf.quantize_with_accuracy_control(
                fp32, calib, val, validation_fn=validate, max_drop=budget, preset=nncf.QuantizationPreset.MIXED,
                subset_size=len(qdata.calib),
            )
        acc = _accuracy(core.compile_model(quantized, "CPU", F32), x_val, y_val)
        report.update({"accuracy_control": True, "tool": f"nncf {nncf.__version__} quantize_with_accuracy_control",
                       "val_accuracy": acc, "drop": fp32_acc - acc})
        log(f"  OpenVINO INT8 accuracy control     PublicTest acc {acc:.4f}")
    report["within_budget"] = report["drop"] <= budget
    meta.precision = "int8"
    meta.info["quantization"] = report
    return _save(quantized, meta, Path(dst), compress_to_fp16=False), report
