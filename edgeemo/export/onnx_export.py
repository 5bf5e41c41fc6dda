"""Checkpoint → one self-contained ONNX file with edgeemo metadata."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelFileError, require
from ..modelmeta import META_KEY, ModelMeta, read_onnx_meta

OPSET = 17


def set_metadata(model_proto, meta: ModelMeta) -> None:
    """Store edgeemo's metadata in an ONNX ModelProto (replacing an older entry)."""
    for i in reversed(range(len(model_proto.metadata_props))):
        if model_proto.metadata_props[i].key == META_KEY:
            del model_proto.metadata_props[i]
    entry = model_proto.metadata_props.add()
    entry.key = META_KEY
    entry.value = meta.to_json()


def load_onnx(path: str | Path, load_external_data: bool = True):
    """``onnx.load`` with a damaged, truncated or foreign file turned into one clear error."""
    onnx = require("onnx", "quantize", "Reading ONNX files")
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=load_external_data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ModelFileError(f"{path}: not a readable ONNX file ({type(exc).__name__}: "
                             f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else 'cannot parse'}); "
                             "is it complete? Copy it again or re-export it with 'edgeemo export'") from None
    if not model.graph.node or not model.graph.input:
        raise ModelFileError(f"{path}: not an ONNX model (no graph in it); re-export it with 'edgeemo export'")
    return model


read_metadata = read_onnx_meta  # an ONNX file's edgeemo metadata, through onnxruntime (no onnx needed)


def _with_flip_tta(model, torch):
    """Average the logits of each face and its mirror image, in one batched pass."""

    class FlipTTA(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            n = x.shape[0]
            both = self.inner(torch.cat([x, torch.flip(x, dims=[3])], dim=0))
            return (both[:n] + both[n:]) * 0.5

    return FlipTTA(model).eval()


def export_onnx(checkpoint: str | Path, out: str | Path, opset: int = OPSET, tta: str = "none") -> Path:
    """Export an edgeemo checkpoint to ONNX FP32 with a dynamic batch axis.

    The file is checked with ``onnx.checker`` and carries the labels, preprocessing and the
    hash of the source weights in its metadata. ``tta="flip"`` bakes horizontal-flip test-time
    augmentation into the graph (twice the compute, usually a little more accuracy).
    """
    torch = require("torch", "train", "ONNX export")
    onnx = require("onnx", "train", "ONNX export")
    from ..training.checkpoint import model_from_checkpoint

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model, meta = model_from_checkpoint(checkpoint)
    meta.info["checkpoint"] = Path(checkpoint).name
    meta.info["opset"] = opset
    meta.info["tta"] = tta
    if tta == "flip":
        model = _with_flip_tta(model, torch)
    elif tta != "none":
        from ..errors import EdgeemoError

        raise EdgeemoError(f"unknown test-time augmentation {tta!r}; use none or flip")
    pre = meta.preprocess
    dummy = torch.zeros(1, pre.channels, *pre.size)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(
        model, (dummy,), str(tmp), dynamo=False, opset_version=opset, do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    proto = onnx.load(str(tmp))
    proto.producer_name = "edgeemo"
    set_metadata(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(out))
    tmp.unlink(missing_ok=True)
    return out
