"""TensorRT backend: runs a serialized engine built by ``edgeemo export --format tensorrt``.

Buffers are managed with cuda-python's runtime API; the engine's edgeemo metadata is read
from the ``.json`` written beside it. An engine built for another GPU, L4T release or
TensorRT version is refused with a message to rebuild it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EdgeemoError, ModelFileError
from ..hardware import gpu_identity
from ..modelmeta import ModelMeta
from .base import Backend, check_model_io


def _check(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise EdgeemoError(f"CUDA call failed with error {err}")
    return rest[0] if len(rest) == 1 else rest


def read_engine_meta(path: Path) -> ModelMeta:
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        raise ModelFileError(
            f"{path}: its metadata file {sidecar.name} is missing; "
            "rebuild the engine with 'edgeemo export --format tensorrt'"
        )
    return ModelMeta.from_json(sidecar.read_text(), str(sidecar))


def check_engine_matches(meta: ModelMeta, trt_version: str, gpu: dict | None, path: Path) -> int:
    """Refuse an engine built elsewhere (another TensorRT, GPU or L4T release) or whose build record
    is missing or damaged; returns the largest batch it was built for."""
    rebuild = "rebuild it here with 'edgeemo export --format tensorrt'"
    built = meta.info.get("tensorrt")
    if not isinstance(built, dict) or not isinstance(built.get("gpu"), dict):
        raise ModelFileError(f"{path}: its metadata has no TensorRT build record (version, GPU); {rebuild}")
    if meta.precision not in ("fp32", "fp16", "int8"):
        raise ModelFileError(f"{path}: its metadata says precision {meta.precision!r}, not fp32, fp16 or int8; "
                             f"{rebuild}")
    max_batch = built.get("max_batch", 64)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ModelFileError(f"{path}: its metadata gives max_batch {max_batch!r}; {rebuild}")
    if gpu is None:
        raise EdgeemoError(f"{path}: no NVIDIA GPU here to run a TensorRT engine")
    problems = []
    if built.get("version") != trt_version:
        problems.append(f"TensorRT {built.get('version')} built it, this is {trt_version}")
    for k in ("name", "compute_capability", "l4t"):
        if built["gpu"].get(k) != gpu.get(k):
            problems.append(f"{k}: built for {built['gpu'].get(k)}, here {gpu.get(k)}")
    if problems:
        raise ModelFileError(f"{path}: engine does not match this machine ({'; '.join(problems)}); {rebuild}")
    return max_batch


def check_engine_io(path: Path, meta: ModelMeta, io: dict[str, tuple[bool, list]]) -> tuple[str, str]:
    """The engine's one input and one output (name -> (is_input, shape)), checked against its metadata:
    input N×C×H×W as the preprocessing says with a dynamic batch, output N×(number of classes)."""
    inputs = [n for n, (is_in, _) in io.items() if is_in]
    outputs = [n for n, (is_in, _) in io.items() if not is_in]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelFileError(f"{path}: an edgeemo engine has one input and one output, this one has "
                             f"{len(inputs)} and {len(outputs)}; rebuild it with 'edgeemo export --format tensorrt'")
    check_model_io(path, meta, io[inputs[0]][1], io[outputs[0]][1])
    return inputs[0], outputs[0]


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        from .tensorrt_runtime import import_cudart, import_tensorrt

        trt = import_tensorrt()
        self.cudart = import_cudart()
        self.path = Path(path)
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: no such engine file")
        self.meta = read_engine_meta(self.path)
        self.max_batch = check_engine_matches(self.meta, trt.__version__, gpu_identity(), self.path)
        self._trt_version = trt.__version__
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise ModelFileError(f"{self.path}: TensorRT could not deserialize this engine (truncated or foreign?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        io = {n: (self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT, list(self.engine.get_tensor_shape(n)))
              for n in names}
        self.input_name, self.output_name = check_engine_io(self.path, self.meta, io)
        self.context = self.engine.create_execution_context()
        pre = self.meta.preprocess
        self.in_bytes = self.max_batch * pre.channels * pre.size[0] * pre.size[1] * 4
        self.out_bytes = self.max_batch * len(self.meta.classes) * 4
        self.stream = _check(self.cudart.cudaStreamCreate())
        self.d_in = _check(self.cudart.cudaMalloc(self.in_bytes))
        self.d_out = _check(self.cudart.cudaMalloc(self.out_bytes))
        self.context.set_tensor_address(self.input_name, int(self.d_in))
        self.context.set_tensor_address(self.output_name, int(self.d_out))

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        outs = []
        for i in range(0, len(x), self.max_batch):
            xb = x[i : i + self.max_batch]
            out = np.empty((len(xb), len(self.meta.classes)), dtype=np.float32)
            cu = self.cudart
            self.context.set_input_shape(self.input_name, xb.shape)
            _check(cu.cudaMemcpyAsync(self.d_in, xb.ctypes.data, xb.nbytes,
                                      cu.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream))
            if not self.context.execute_async_v3(int(self.stream)):
                raise EdgeemoError(f"{self.path}: TensorRT execution failed")
            _check(cu.cudaMemcpyAsync(out.ctypes.data, self.d_out, out.nbytes,
                                      cu.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream))
            _check(cu.cudaStreamSynchronize(self.stream))
            outs.append(out)
        return np.concatenate(outs)

    @property
    def provider(self) -> str:
        return "tensorrt:cuda"

    def runtime_version(self) -> str:
        return self._trt_version

    def close(self) -> None:
        for ptr in (getattr(self, "d_in", None), getattr(self, "d_out", None)):
            if ptr is not None:
                self.cudart.cudaFree(ptr)
        if getattr(self, "stream", None) is not None:
            self.cudart.cudaStreamDestroy(self.stream)
        self.d_in = self.d_out = self.stream = None
