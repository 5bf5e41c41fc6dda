"""One call that turns a model into every requested format × precision.

FP32 ONNX is the hub: a checkpoint is exported to it first, and every other artifact
(FP16/INT8 ONNX, OpenVINO IR, TensorRT engines) is derived from that file. Artifacts are kept in
a cache keyed by their source (:mod:`.cache`) and reused while it is unchanged. A failing
artifact is recorded with its reason and the others are still produced. What the runtimes
print while they build goes to ``build.log`` in the artifacts' folder, not to the terminal.
"""

from __future__ import annotations

import shutil
import time
from itertools import product
from pathlib import Path

from ..console_log import build_log, runtime_output
from ..errors import EdgeemoError, NotSupportedHere
from ..formats import BF16_FORMATS, FORMATS, PRECISIONS, artifact_suffix
from ..model_files import ModelIdentity, model_identity, resolve_model
from .cache import BUILD_LOG, Artifact, ArtifactCache, artifact_size_mb, cache_folder
from .calibration import QuantData, load_quant_data

__all__ = ["Artifact", "artifact_size_mb", "export_model", "export_artifacts", "source_identity"]


def source_identity(src: Path, tta: str = "none") -> ModelIdentity:
    """The identity of an export's source: a checkpoint (with ``tta`` baked in on export) or an
    FP32 ONNX file (whose own metadata says which TTA it holds)."""
    if src.suffix not in (".pt", ".pth", ".onnx"):
        raise EdgeemoError(f"{src}: exports start from an edgeemo checkpoint (.pt) or an FP32 .onnx file")
    ident = model_identity(src)
    if ident.precision != "fp32":
        raise EdgeemoError(f"{src} is a {ident.precision} model; exports start from the FP32 model")
    if src.suffix == ".onnx" and tta != "none" and ident.tta != tta:
        raise EdgeemoError(f"{src}: --tta {tta} is baked in when exporting a checkpoint; give the .pt file")
    if src.suffix == ".onnx":
        from ..backends import open_backend

        open_backend(src, "onnxruntime").close()  # refuses a fixed batch or I/O that disagrees with the metadata
    if src.suffix != ".onnx" and tta != "none":
        from dataclasses import replace

        ident = replace(ident, tta=tta)
    return ident


class _Builder:
    """Builds the missing artifacts of one source into its cache folder."""

    def __init__(self, src: Path, ident: ModelIdentity, cache: ArtifactCache, *, data, budget: float,
                 n_calib: int, log) -> None:
        self.src, self.name, self.cache, self.out = src, ident.name, cache, cache.folder
        self.tta, self.data, self.budget, self.n_calib, self.log = ident.tta, data, budget, n_calib, log
        self._qdata: QuantData | None = None

    def settings(self, precision: str) -> dict:
        return {"budget": self.budget, "n_calib": self.n_calib} if precision == "int8" else {}

    def target(self, fmt: str, precision: str) -> Path:
        return (self.out / fmt if fmt != "onnx" else self.out) / f"{self.name}.{precision}{artifact_suffix(fmt)}"

    def hub(self) -> Path:
        """The FP32 ONNX file every other artifact is made from (cached, exported, or copied)."""
        cached = self.cache.get("onnx", "fp32")
        if cached is not None:
            return Path(cached.path)
        dst = self.target("onnx", "fp32")
        dst.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if self.src.suffix in (".pt", ".pth"):
            from .onnx_export import export_onnx

            with runtime_output():
                export_onnx(self.src, dst, tta=self.tta)
            self.log(f"exported {self.src} -> {dst}")
        elif self.src.resolve() != dst.resolve():
            shutil.copyfile(self.src, dst)
        self.cache.put(Artifact("onnx", "fp32", str(dst), size_mb=round(artifact_size_mb(dst), 3),
                                seconds=round(time.perf_counter() - t0, 2)))
        return dst

    def qdata(self) -> QuantData:
        if self._qdata is None:
            from ..modelmeta import read_onnx_meta

            self._qdata = load_quant_data(self.data, read_onnx_meta(self.hub()).preprocess, n_calib=self.n_calib)
            self.log(f"calibration: {len(self._qdata.calib)} Training faces; recipe choice on "
                     f"{len(self._qdata.val_labels)} PublicTest faces from {self._qdata.source}")
        return self._qdata

    def int8_onnx(self) -> tuple[Path, dict]:
        """The INT8 (QDQ) ONNX model: ONNX Runtime's INT8 artifact and TensorRT INT8's source."""
        cached = self.cache.get("onnx", "int8", self.settings("int8"))
        if cached is not None:
            return Path(cached.path), cached.quantization or {}
        from .onnx_int8 import quantize_ort_int8

        target = self.target("onnx", "int8")
        t0 = time.perf_counter()
        _, quantization = quantize_ort_int8(self.hub(), target, self.qdata(), budget=self.budget, log=self.log)
        self.cache.put(Artifact("onnx", "int8", str(target), size_mb=round(artifact_size_mb(target), 3),
                                quantization=quantization, seconds=round(time.perf_counter() - t0, 2)),
                       self.settings("int8"))
        return target, quantization

    def _make(self, fmt: str, precision: str, art: Artifact) -> Path:
        target = self.target(fmt, precision)
        if fmt == "onnx" and precision == "fp32":
            return self.hub()
        if fmt == "onnx" and precision == "int8":
            path, art.quantization = self.int8_onnx()
            return path
        if fmt == "onnx":
            from .onnx_fp16 import convert_fp16

            with runtime_output():
                return convert_fp16(self.hub(), target)
        if fmt == "openvino" and precision != "int8":
            from .openvino_export import export_openvino

            with runtime_output():
                return export_openvino(self.hub(), target, precision)
        if fmt == "openvino":
            from .openvino_export import quantize_openvino_int8

            path, art.quantization = quantize_openvino_int8(self.hub(), target, self.qdata(), budget=self.budget,
                                                            log=self.log)
            return path
        from .tensorrt_export import build_engine

        if precision != "int8":
            return build_engine(self.hub(), precision, self.out / "tensorrt", log=self.log)
        base = tensorrt_qdq_model(self.hub(), self.out / "tensorrt" / f"{self.name}.int8.qdq.onnx", self.qdata(),
                                  budget=self.budget, log=self.log)
        from ..modelmeta import read_onnx_meta

        art.quantization = read_onnx_meta(base).info["quantization"]
        try:
            return build_engine(base, precision, self.out / "tensorrt", log=self.log)
        except EdgeemoError as exc:
            raise EdgeemoError(f"{exc} (its source, the TensorRT INT8 QDQ model, was made and checked: {base}; "
                               "build the engine from it on the device)") from None

    def build(self, fmt: str, precision: str) -> Artifact:
        """Make one artifact; a failure is recorded in it with the reason, never raised."""
        art = Artifact(fmt, precision, None)
        if precision == "int8" and self.data is None:
            art.status, art.reason = "skipped", "INT8 needs real faces to calibrate on: pass --data fer2013.npz"
            return art
        t0 = time.perf_counter()
        try:
            path = self._make(fmt, precision, art)
        except NotSupportedHere as exc:
            art.status, art.reason = "skipped", str(exc)
            self.log(f"{fmt:9s} {precision:5s} skipped: {exc}")
            return art
        except EdgeemoError as exc:
            art.status, art.reason = "failed", str(exc)
            self.log(f"{fmt:9s} {precision:5s} FAILED: {exc}")
            return art
        art.path, art.size_mb, art.seconds = str(path), round(artifact_size_mb(path), 3), round(
            time.perf_counter() - t0, 2)
        self.log(f"{fmt:9s} {precision:5s} -> {path} ({art.size_mb:.2f} MB)")
        return art


def tensorrt_qdq_model(fp32: Path, dst: Path, qdata: QuantData, *, budget: float, log=print) -> Path:
    """The TensorRT INT8 source: a QDQ model in the int8 symmetric scheme, reused while it is newer than
    ``fp32`` (made here, on any machine: TensorRT itself is needed only to build the engine)."""
    from ..modelmeta import read_onnx_meta

    if dst.exists() and dst.stat().st_mtime >= fp32.stat().st_mtime:
        try:
            if (read_onnx_meta(dst).info.get("quantization") or {}).get("scheme") == "tensorrt":
                log(f"  TensorRT INT8 QDQ model reused: {dst}")
                return dst
        except EdgeemoError:
            pass
    from .onnx_int8 import quantize_ort_int8

    _, q = quantize_ort_int8(fp32, dst, qdata, budget=budget, scheme="tensorrt", log=log)
    log(f"  TensorRT INT8 QDQ model: {dst} ({q['qdq_check']['quantize_nodes']} Q and "
        f"{q['qdq_check']['dequantize_nodes']} DQ nodes, all int8 with zero-point 0)")
    return dst


def export_artifacts(
    model_ref: str | Path,
    pairs: list[tuple[str, str]],
    *,
    out_dir: str | Path | None = None,
    export_dir: str | Path = "export",
    data: str | Path | None = None,
    budget: float = 0.01,
    n_calib: int = 512,
    tta: str = "none",
    rebuild: bool = False,
    log=print,
) -> dict[tuple[str, str], Artifact]:
    """Each (format, precision) in ``pairs`` as an :class:`Artifact`, reused from the cache folder
    (``out_dir``, default ``EXPORT_DIR/NAME/KEY``) or built; ``rebuild`` builds everything again.
    INT8 without ``data`` is ``skipped``; a failure is ``failed`` with the reason."""
    src = resolve_model(model_ref)
    ident = source_identity(src, tta)
    out = Path(out_dir) if out_dir else cache_folder(ident, export_dir)
    cache = ArtifactCache(out, ident, src, fresh=rebuild)
    builder = _Builder(src, ident, cache, data=data, budget=budget, n_calib=n_calib, log=log)
    got: dict[tuple[str, str], Artifact] = {}
    for fmt, prec in pairs:
        cached = None if fmt == "tensorrt" else cache.get(fmt, prec, builder.settings(prec))
        if cached is not None:
            got[(fmt, prec)] = cached
    if got:
        log(f"reusing {len(got)} artifact(s) in {out}")
    log_path = out / BUILD_LOG
    size0 = log_path.stat().st_size if log_path.exists() else 0
    with build_log(log_path):
        for fmt, prec in pairs:
            if (fmt, prec) not in got:
                got[(fmt, prec)] = art = builder.build(fmt, prec)
                cache.put(art, builder.settings(prec))
    cache.save()
    if log_path.exists() and log_path.stat().st_size > size0:
        log(f"the runtimes' own messages: {log_path}")
    return got


def export_model(
    model_ref: str | Path,
    formats: tuple[str, ...] = ("onnx",),
    precisions: tuple[str, ...] = ("fp32",),
    *,
    out_dir: str | Path | None = None,
    export_dir: str | Path = "export",
    data: str | Path | None = None,
    budget: float = 0.01,
    n_calib: int = 512,
    tta: str = "none",
    rebuild: bool = False,
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
    pairs = [(f, p) for f, p in product(formats, precisions) if p != "bf16" or f in BF16_FORMATS]
    got = export_artifacts(model_ref, pairs, out_dir=out_dir, export_dir=export_dir,
                           data=data, budget=budget, n_calib=n_calib, tta=tta, rebuild=rebuild, log=log)
    return list(got.values())
