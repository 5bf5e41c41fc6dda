"""Metadata every edgeemo model file carries, whatever its format.

It holds the class names in output order and the preprocessing, so a model file alone is
enough to run it correctly. ONNX files keep it as the ``edgeemo`` entry of
``metadata_props``, OpenVINO IR in ``rt_info``, torch checkpoints in ``meta``, and
TensorRT engines (which cannot hold metadata) in a ``.json`` file beside the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFileError
from .labels import CLASSES
from .preprocess import Preprocess

META_KEY = "edgeemo"


@dataclass
class ModelMeta:
    model: str
    classes: tuple[str, ...] = CLASSES
    preprocess: Preprocess = field(default_factory=Preprocess)
    precision: str = "fp32"
    source_sha256: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # metrics, MACs, dataset, quantization...

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "classes": list(self.classes),
            "preprocess": self.preprocess.to_dict(),
            "precision": self.precision,
            "source_sha256": self.source_sha256,
            "info": self.info,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> ModelMeta:
        try:
            return cls(
                model=str(d["model"]),
                classes=tuple(str(c) for c in d["classes"]),
                preprocess=Preprocess.from_dict(d["preprocess"]),
                precision=str(d.get("precision", "fp32")),
                source_sha256=d.get("source_sha256"),
                info=dict(d.get("info", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: its edgeemo metadata is incomplete ({exc!r})") from exc

    @classmethod
    def from_json(cls, text: str, where: str = "model") -> ModelMeta:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{where}: its edgeemo metadata is not valid JSON ({exc})") from exc
        return cls.from_dict(d, where)

    @classmethod
    def from_checkpoint_meta(cls, meta: dict, source_sha256: str | None = None) -> ModelMeta:
        info = {k: v for k, v in meta.items() if k not in ("model", "classes", "preprocess")}
        return cls(
            model=meta["model"],
            classes=tuple(str(c) for c in meta.get("classes", CLASSES)),  # edgeemo's trainer always used FER order
            preprocess=Preprocess.from_dict(meta["preprocess"]),
            precision="fp32",
            source_sha256=source_sha256,
            info=info,
        )


def read_onnx_meta(path: str | Path) -> ModelMeta:
    """The edgeemo metadata of an ONNX file, read through onnxruntime's model metadata (the runtime
    core; no ``onnx`` package needed)."""
    import onnxruntime as ort

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelFileError(
            f"{path}: onnxruntime cannot load it ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); "
            "is it a complete .onnx file? Re-export it with 'edgeemo export'"
        ) from exc
    return meta_from_props(session.get_modelmeta().custom_metadata_map, path)


def meta_from_props(props: dict[str, str], path: str | Path) -> ModelMeta:
    """Metadata from an ONNX file's ``metadata_props`` (as onnxruntime returns them)."""
    if META_KEY not in props:
        raise ModelFileError(
            f"{path}: an ONNX model without edgeemo metadata (labels, preprocessing); "
            "export it with 'edgeemo export' so the file says how to run it"
        )
    return ModelMeta.from_json(props[META_KEY], str(path))
