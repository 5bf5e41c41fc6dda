"""ONNX FP32 → FP16 weights and compute, with float32 inputs and outputs."""

from __future__ import annotations

from pathlib import Path

from ..errors import require
from .onnx_export import read_metadata, set_metadata


def _topological_sort(graph) -> None:
    """Reorder nodes so each comes after its inputs' producers (the converter appends the
    input casts at the end, which onnx.checker rejects)."""
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ValueError("graph has a cycle or a dangling input")
        for n in ready:
            ordered.append(n)
            available.update(n.output)
        pending = [n for n in pending if n not in ready]
    del graph.node[:]
    graph.node.extend(ordered)


def convert_fp16(src: str | Path, dst: str | Path) -> Path:
    onnx = require("onnx", "quantize", "FP16 conversion")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    meta = read_metadata(src)
    model = onnx.load(str(src))
    # keep_io_types: callers keep feeding float32 and reading float32 logits.
    fp16 = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    _topological_sort(fp16.graph)
    meta.precision = "fp16"
    set_metadata(fp16, meta)
    onnx.checker.check_model(fp16)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(fp16, str(dst))
    return dst
