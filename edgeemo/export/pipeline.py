"""One call that turns a model into every requested format × precision.

FP32 ONNX is the hub: a checkpoint is exported to it first, and every other artifact
(FP16/INT8 ONNX, OpenVINO IR, TensorRT engines) is derived from that file. A failing
artifact is recorded with its reason and the others are still produced.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import EdgeemoError
from ..formats import FORMATS, PRECISIONS, artifact_suffix
from ..model_files import resolve_model
from .calibration import QuantData, load_quant_data


@dataclass
class Artifact:
    format: str
    precision: str
    path: str | None
    status: str = "ok"
    reason: str | None = None
    size_mb: float | None = None
    quantization: dict | None = field(default=None)


def artifact_size_mb(path: str | Path) -> float:
    """Size on disk, counting an OpenVINO IR's .bin with its .xml."""
    p = Path(path)
    total = p.stat().st_size
    if p.suffix == ".xml" and p.with_suffix(".bin").exists():
        total += p.with_suffix(".bin").stat().st_size
    return total / 1e6


def _model_name(src: Path) -> str:
    if src.suffix == ".pt":
        return src.parent.name if src.name == "best.pt" else src.stem
    from .onnx_export import read_metadata

    return read_metadata(src).model


def source_onnx(model_ref: str | Path, out_dir: Path, log=print, tta: str = "none") -> tuple[Path, Path | None]:
    """The FP32 ONNX file for ``model_ref`` (exported from a checkpoint if needed) and the
    checkpoint itself when there is one (the torch reference)."""
    src = resolve_model(model_ref)
    if src.suffix in (".pt", ".pth"):
        from .onnx_export import export_onnx

        name = _model_name(src)
        onnx_path = out_dir / f"{name}.fp32.onnx"
        export_onnx(src, onnx_path, tta=tta)
        log(f"exported {src} -> {onnx_path}")
        return onnx_path, src
    if src.suffix != ".onnx":
        raise EdgeemoError(f"{src}: exports start from an edgeemo checkpoint (.pt) or an FP32 .onnx file")
    from .onnx_export import read_metadata

    meta = read_metadata(src)
    if meta.precision != "fp32":
        raise EdgeemoError(f"{src} is a {meta.precision} model; exports start from the FP32 model")
    dst = out_dir / f"{meta.model}.fp32.onnx"
    if src.resolve() != dst.resolve():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return dst, None


def export_model(
    model_ref: str | Path,
    formats: tuple[str, ...] = ("onnx",),
    precisions: tuple[str, ...] = ("fp32",),
    *,
    out_dir: str | Path | None = None,
    data: str | Path | None = None,
    budget: float = 0.01,
    n_calib: int = 512,
    tta: str = "none",
    log=print,
) -> list[Artifact]:
    """Export ``model_ref`` to each format × precision; returns what was made (or why not)."""
    for f in formats:
        if f not in FORMATS:
            raise EdgeemoError(f"unknown format {f!r}; choose from {', '.join(FORMATS)}")
    for p in precisions:
        if p not in PRECISIONS:
            raise EdgeemoError(f"unknown precision {p!r}; choose from {', '.join(PRECISIONS)}")
    if "int8" in precisions and data is None:
        raise EdgeemoError("INT8 needs real faces to calibrate on: pass --data fer2013.npz (Training rows are used)")
    src = resolve_model(model_ref)
    name = _model_name(src)
    out = Path(out_dir) if out_dir else Path("export") / name
    out.mkdir(parents=True, exist_ok=True)
    fp32, _ = source_onnx(model_ref, out, log, tta=tta)

    qdata: QuantData | None = None
    from .onnx_export import read_metadata

    pre = read_metadata(fp32).preprocess

    def get_qdata() -> QuantData:
        nonlocal qdata
        if qdata is None:
            qdata = load_quant_data(data, pre, n_calib=n_calib)
            log(f"calibration: {len(qdata.calib)} Training faces; recipe choice on {len(qdata.val_labels)} "
                f"PublicTest faces from {qdata.source}")
        return qdata

    artifacts: list[Artifact] = []
    int8_onnx: Path | None = None
    for fmt in formats:
        for prec in precisions:
            target = (out / fmt if fmt != "onnx" else out) / f"{name}.{prec}{artifact_suffix(fmt)}"
            art = Artifact(fmt, prec, str(target))
            try:
                if fmt == "onnx" and prec == "fp32":
                    target = fp32
                elif fmt == "onnx" and prec == "fp16":
                    from .onnx_fp16 import convert_fp16

                    convert_fp16(fp32, target)
                elif fmt == "onnx" and prec == "int8":
                    from .onnx_int8 import quantize_ort_int8

                    _, art.quantization = quantize_ort_int8(fp32, target, get_qdata(), budget=budget, log=log)
                    int8_onnx = target
                elif fmt == "openvino" and prec in ("fp32", "fp16"):
                    from .openvino_export import export_openvino

                    export_openvino(fp32, target, prec)
                elif fmt == "openvino":
                    from .openvino_export import quantize_openvino_int8

                    _, art.quantization = quantize_openvino_int8(fp32, target, get_qdata(), budget=budget, log=log)
                else:  # tensorrt
                    from .tensorrt_export import build_engine

                    base = fp32
                    if prec == "int8":
                        if int8_onnx is None:
                            from .onnx_int8 import quantize_ort_int8

                            int8_onnx = out / f"{name}.int8.onnx"
                            quantize_ort_int8(fp32, int8_onnx, get_qdata(), budget=budget, log=log)
                        base = int8_onnx
                    target = build_engine(base, prec, out / "tensorrt", log=log)
                art.path = str(target)
                art.size_mb = round(artifact_size_mb(target), 3)
                log(f"{fmt:9s} {prec:5s} -> {target} ({art.size_mb:.2f} MB)")
            except EdgeemoError as exc:
                art.status, art.reason, art.path = "failed", str(exc), None
                log(f"{fmt:9s} {prec:5s} FAILED: {exc}")
            artifacts.append(art)
    (out / "manifest.json").write_text(json.dumps([asdict(a) for a in artifacts], indent=2) + "\n")
    return artifacts
