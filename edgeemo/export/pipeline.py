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

from ..errors import EdgeemoError, NotSupportedHere
from ..model_files import resolve_model
from .calibration import QuantData, load_quant_data

FORMATS = ("onnx", "openvino", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8", "bf16")
# bf16 is an execution precision of OpenVINO's CPU plugin (native on AVX512_BF16/AMX CPUs): the IR holds
# FP32 weights and is marked to run in bfloat16. The other formats have no bf16 artifact.
BF16_FORMATS = ("openvino",)
_SUFFIX = {"onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}


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
    from ..backends import open_backend

    open_backend(src, "onnxruntime").close()  # refuses a fixed batch or I/O that disagrees with the metadata
    dst = out_dir / f"{meta.model}.fp32.onnx"
    if src.resolve() != dst.resolve():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return dst, None


def tensorrt_qdq_model(fp32: Path, dst: Path, qdata: QuantData, *, budget: float, log=print) -> Path:
    """The TensorRT INT8 source: a QDQ model in the int8 symmetric scheme, reused while it is newer than
    ``fp32`` (made here, on any machine: TensorRT itself is needed only to build the engine)."""
    from .onnx_export import read_metadata

    if dst.exists() and dst.stat().st_mtime >= fp32.stat().st_mtime:
        try:
            if (read_metadata(dst).info.get("quantization") or {}).get("scheme") == "tensorrt":
                log(f"  TensorRT INT8 QDQ model reused: {dst}")
                return dst
        except EdgeemoError:
            pass
    from .onnx_int8 import quantize_ort_int8

    _, q = quantize_ort_int8(fp32, dst, qdata, budget=budget, scheme="tensorrt", log=log)
    log(f"  TensorRT INT8 QDQ model: {dst} ({q['qdq_check']['quantize_nodes']} Q and "
        f"{q['qdq_check']['dequantize_nodes']} DQ nodes, all int8 with zero-point 0)")
    return dst


def _make_artifact(art: Artifact, target: Path, fp32: Path, trt_qdq: Path, get_qdata, budget: float, log) -> Path:
    """Make one format × precision from the FP32 ONNX hub; returns where it landed (sets ``art.quantization``)."""
    fmt, prec = art.format, art.precision
    if fmt == "onnx" and prec == "fp32":
        return fp32
    if fmt == "onnx" and prec == "fp16":
        from .onnx_fp16 import convert_fp16

        return convert_fp16(fp32, target)
    if fmt == "onnx":
        from .onnx_int8 import quantize_ort_int8

        target, art.quantization = quantize_ort_int8(fp32, target, get_qdata(), budget=budget, log=log)
        return target
    if fmt == "openvino" and prec != "int8":
        from .openvino_export import export_openvino

        return export_openvino(fp32, target, prec)
    if fmt == "openvino":
        from .openvino_export import quantize_openvino_int8

        target, art.quantization = quantize_openvino_int8(fp32, target, get_qdata(), budget=budget, log=log)
        return target
    from .onnx_export import read_metadata
    from .tensorrt_export import build_engine

    if prec != "int8":
        return build_engine(fp32, prec, trt_qdq.parent, log=log)
    base = tensorrt_qdq_model(fp32, trt_qdq, get_qdata(), budget=budget, log=log)
    art.quantization = read_metadata(base).info["quantization"]
    try:
        return build_engine(base, prec, trt_qdq.parent, log=log)
    except EdgeemoError as exc:
        raise EdgeemoError(f"{exc} (its source, the TensorRT INT8 QDQ model, was made and checked: {base}; "
                           "build the engine from it on the device)") from None


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
    if "bf16" in precisions and not set(formats) & set(BF16_FORMATS):
        raise EdgeemoError(f"bf16 is an OpenVINO CPU precision: add --format openvino (not {', '.join(formats)})")
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
    for fmt in formats:
        for prec in precisions:
            if prec == "bf16" and fmt not in BF16_FORMATS:
                continue  # no bf16 artifact in this format; the OpenVINO one is made below
            target = out / fmt / f"{name}.{prec}{_SUFFIX[fmt]}" if fmt != "onnx" else out / f"{name}.{prec}.onnx"
            art = Artifact(fmt, prec, str(target))
            try:
                target = _make_artifact(art, target, fp32, out / "tensorrt" / f"{name}.int8.qdq.onnx", get_qdata,
                                        budget, log)
                art.path = str(target)
                art.size_mb = round(artifact_size_mb(target), 3)
                log(f"{fmt:9s} {prec:5s} -> {target} ({art.size_mb:.2f} MB)")
            except NotSupportedHere as exc:
                art.status, art.reason, art.path = "skipped", str(exc), None
                log(f"{fmt:9s} {prec:5s} skipped: {exc}")
            except EdgeemoError as exc:
                art.status, art.reason, art.path = "failed", str(exc), None
                log(f"{fmt:9s} {prec:5s} FAILED: {exc}")
            artifacts.append(art)
    (out / "manifest.json").write_text(json.dumps([asdict(a) for a in artifacts], indent=2) + "\n")
    return artifacts
