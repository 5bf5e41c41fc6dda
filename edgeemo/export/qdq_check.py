"""Static check of a Q/DQ ONNX model against TensorRT's explicit-quantization rules.

TensorRT accepts only symmetric INT8 quantization: every QuantizeLinear/DequantizeLinear has an
int8 zero-point that is 0, activation scales are per-tensor (per-channel only on constant
weights, along one axis), every scale is positive and finite, and stored int8 weights lie in
[-127, 127]. A model that breaks a rule would fail to parse or build on the device, so it is
refused here, where it is made.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFileError

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def _constants(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    out = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.attribute:
            a = n.attribute[0]
            if a.name == "value":
                out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def _node_problems(node, const: dict[str, np.ndarray], weights: set[str]) -> list[str]:
    """What breaks TensorRT's rules in one Q/DQ node."""
    label = f"{node.op_type} {node.name or node.output[0]}"
    problems = []
    if len(node.input) < 3 or not node.input[2]:
        return [f"{label}: no zero-point (ONNX then means uint8)"]
    zp, scale = const.get(node.input[2]), const.get(node.input[1])
    if zp is None or scale is None:
        return [f"{label}: scale or zero-point is not a constant"]
    if zp.dtype != np.int8:
        problems.append(f"{label}: zero-point type {zp.dtype}, TensorRT needs int8")
    elif np.any(zp != 0):
        problems.append(f"{label}: zero-point {zp.ravel()[:4].tolist()} is not 0 (asymmetric)")
    if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
        problems.append(f"{label}: scale is not positive and finite")
    is_weight = node.input[0] in weights
    if scale.size > 1 and not is_weight:
        problems.append(f"{label}: per-channel scale on an activation (TensorRT: per-tensor only)")
    if node.op_type == "DequantizeLinear" and node.input[0] in const:
        w = const[node.input[0]]
        if w.dtype != np.int8:
            problems.append(f"{label}: stored weights of type {w.dtype}, TensorRT needs int8")
        elif w.size and int(w.min()) < -127:
            problems.append(f"{label}: int8 weights reach -128 (TensorRT's weight range is [-127, 127])")
    return problems


def check_tensorrt_qdq(model, where: str = "model") -> dict:
    """Check every Q/DQ node; returns counts, raises :class:`ModelFileError` listing what is wrong."""
    const = _constants(model)
    nodes = [n for n in model.graph.node if n.op_type in QDQ_OPS]
    if not nodes:
        raise ModelFileError(f"{where}: no QuantizeLinear/DequantizeLinear nodes: not a Q/DQ INT8 model")
    # weights: constants, and the Q outputs of constants (float weights behind a Q/DQ pair)
    weights = set(const) | {n.output[0] for n in nodes if n.op_type == "QuantizeLinear" and n.input[0] in const}
    problems = [p for n in nodes for p in _node_problems(n, const, weights)]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ModelFileError(f"{where}: not a TensorRT INT8 model: {'; '.join(problems[:5])}{more}; make it with "
                             "'edgeemo export --format tensorrt --precision int8' (int8 symmetric scheme)")
    quantize = [n for n in nodes if n.op_type == "QuantizeLinear"]
    return {
        "quantize_nodes": len(quantize),
        "dequantize_nodes": len(nodes) - len(quantize),
        "zero_points": "int8, all 0",
        "per_channel_weight_nodes": sum(const[n.input[1]].size > 1 for n in quantize),
        "activation_scales": "per-tensor",
    }
