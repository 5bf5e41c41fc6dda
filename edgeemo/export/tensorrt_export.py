"""ONNX → TensorRT engines (FP16; INT8 from the QDQ model), with an engine cache.

An engine only runs on the GPU model and TensorRT version that built it, so engines are
cached under a key made of the ONNX file's hash, the precision, the TensorRT version and
the GPU identity (name, compute capability and, on a Jetson, the L4T release). The edgeemo
metadata, which an engine file cannot hold, is written to a ``.json`` beside it.

TensorRT is imported lazily; where it is missing,
:class:`edgeemo.backends.tensorrt_runtime.MissingTensorRT` says what to install.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..backends.tensorrt_runtime import import_tensorrt
from ..errors import EdgeemoError
from ..filehash import file_sha256
from ..hardware import gpu_identity
from .onnx_export import read_metadata


def engine_cache_key(onnx_sha256: str, precision: str, trt_version: str, gpu: dict, max_batch: int) -> str:
    """A short, stable key: any change of model, precision, TensorRT, GPU or L4T gives a new one."""
    ident = {
        "onnx": onnx_sha256, "precision": precision, "tensorrt": trt_version, "max_batch": max_batch,
        "gpu": gpu.get("name"), "cc": gpu.get("compute_capability"), "l4t": gpu.get("l4t"),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def trt_major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        raise EdgeemoError(f"cannot read the TensorRT version {version!r}") from None


def network_flags(trt) -> int:
    """Flags for ``create_network``: an explicit-batch network on every TensorRT.

    TensorRT 8.x builds an implicit-batch network from ``create_network(0)``, which cannot hold
    a dynamic batch axis or Q/DQ layers; there the EXPLICIT_BATCH flag is required. TensorRT 10
    has only explicit-batch networks and deprecates the flag, so 0 is right there.
    """
    major = trt_major(trt.__version__)
    if major < 8:
        raise EdgeemoError(f"TensorRT {trt.__version__} is too old: edgeemo needs TensorRT 8.5 or newer "
                           "(JetPack 5 or 6, or TensorRT 10 on x86)")
    if major >= 10:
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)


def engine_path(cache_dir: str | Path, model: str, precision: str, key: str) -> Path:
    return Path(cache_dir) / f"{model}.{precision}.{key}.engine"


def check_int8_source(onnx_path: str | Path, meta) -> dict:
    """An INT8 engine is built only from the TensorRT-scheme QDQ model, and only if every Q/DQ node passes."""
    from .onnx_export import load_onnx
    from .qdq_check import check_tensorrt_qdq

    scheme = (meta.info.get("quantization") or {}).get("scheme")
    if meta.precision != "int8" or scheme != "tensorrt":
        raise EdgeemoError(f"{onnx_path}: an INT8 engine is built from the TensorRT INT8 QDQ model (int8 symmetric, "
                           f"zero-point 0), not a {meta.precision} model of scheme {scheme or 'ort'}; make it with "
                           "'edgeemo export --format tensorrt --precision int8 --data fer2013.npz'")
    return check_tensorrt_qdq(load_onnx(onnx_path), str(onnx_path))


def _serialize(trt, onnx_path: str | Path, precision: str, pre, max_batch: int, workspace_mb: int):
    """Parse the ONNX file into an explicit-batch network and build the engine at ``precision`` for
    batches 1..``max_batch``."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgeemoError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # layers left unquantized may still run in FP16
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    inp = network.get_input(0)
    profile = builder.create_optimization_profile()
    chw = (pre.channels, *pre.size)
    profile.set_shape(inp.name, (1, *chw), (min(8, max_batch), *chw), (max_batch, *chw))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EdgeemoError(f"{onnx_path}: TensorRT could not build a {precision} engine (see its log above)")
    return serialized


def build_engine(
    onnx_path: str | Path,
    precision: str,
    cache_dir: str | Path,
    *,
    max_batch: int = 64,
    workspace_mb: int = 1024,
    rebuild: bool = False,
    log=print,
) -> Path:
    """Build (or reuse from the cache) a TensorRT engine for an edgeemo ONNX file.

    ``precision`` fp32/fp16 build from the FP32 ONNX file; int8 expects the TensorRT QDQ model
    (int8 symmetric, zero-point 0; explicit quantization: the scales come from the Q/DQ nodes, no
    calibrator is needed), which is checked node by node before TensorRT sees it.
    """
    if precision not in ("fp32", "fp16", "int8"):
        raise EdgeemoError(f"unknown precision {precision!r}; TensorRT engines are fp32, fp16 or int8")
    meta = read_metadata(onnx_path)
    if precision == "int8":
        check_int8_source(onnx_path, meta)
    trt = import_tensorrt()
    gpu = gpu_identity()
    if gpu is None:
        raise EdgeemoError("no NVIDIA GPU found (nvidia-smi lists none and this is not a Jetson); "
                           "build TensorRT engines on the device that will run them")
    key = engine_cache_key(file_sha256(onnx_path), precision, trt.__version__, gpu, max_batch)
    out = engine_path(cache_dir, meta.model, precision, key)
    sidecar = out.with_suffix(".json")
    if out.exists() and sidecar.exists() and not rebuild:
        log(f"  TensorRT engine cache hit: {out.name}")
        return out

    serialized = _serialize(trt, onnx_path, precision, meta.preprocess, max_batch, workspace_mb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    meta.precision = precision
    meta.info["tensorrt"] = {"version": trt.__version__, "gpu": gpu, "max_batch": max_batch,
                             "cache_key": key, "onnx": Path(onnx_path).name}
    sidecar.write_text(meta.to_json())
    log(f"  built TensorRT {precision} engine {out.name}")
    return out
