"""TensorRT without TensorRT: everything around the engine that can run here.

TensorRT cannot be installed on the machines this project is built on, so the engine build and
inference are not exercised here. What is: the explicit-batch network flag for TensorRT 8.x and
10, the checks an engine's metadata must pass before it runs (build record, GPU, TensorRT
version, I/O shapes), and the TensorRT INT8 QDQ model (int8 symmetric, zero-point 0), built by
ONNX Runtime's quantizer and checked node by node.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edgeemo.backends.tensorrt_backend import check_engine_io, check_engine_matches, read_engine_meta
from edgeemo.errors import EdgeemoError, ModelFileError
from edgeemo.export.tensorrt_export import network_flags
from edgeemo.modelmeta import ModelMeta

GPU = {"name": "Orin", "compute_capability": "8.7", "l4t": "36.3.0"}


def _trt(version: str) -> SimpleNamespace:
    """The two attributes network_flags reads from the tensorrt module (which cannot be installed here)."""
    return SimpleNamespace(__version__=version,
                           NetworkDefinitionCreationFlag=SimpleNamespace(EXPLICIT_BATCH=0))


def test_explicit_batch_network_on_tensorrt_8_and_10():
    assert network_flags(_trt("8.5.2.2")) == 1  # JetPack 5: create_network(0) would be implicit-batch
    assert network_flags(_trt("8.6.1")) == 1
    assert network_flags(_trt("10.3.0")) == 0  # explicit batch is the only kind; the flag is deprecated
    with pytest.raises(EdgeemoError, match="too old"):
        network_flags(_trt("7.1.3"))


def _engine_meta(**tensorrt) -> ModelMeta:
    meta = ModelMeta(model="edgenet", precision=tensorrt.pop("precision", "fp16"))
    meta.info["tensorrt"] = {"version": "10.3.0", "gpu": dict(GPU), "max_batch": 64, **tensorrt}
    return meta


def test_engine_built_here_passes_and_gives_its_batch():
    assert check_engine_matches(_engine_meta(max_batch=32), "10.3.0", GPU, Path("m.engine")) == 32


@pytest.mark.parametrize("meta,gpu,trt_version,phrase", [
    (_engine_meta(), GPU, "8.6.1", "TensorRT 10.3.0 built it, this is 8.6.1"),
    (_engine_meta(), {**GPU, "name": "RTX 4090", "compute_capability": "8.9", "l4t": None}, "10.3.0",
     "name: built for Orin, here RTX 4090"),
    (_engine_meta(), {**GPU, "l4t": "35.4.1"}, "10.3.0", "l4t: built for 36.3.0, here 35.4.1"),
    (_engine_meta(max_batch=0), GPU, "10.3.0", "max_batch 0"),
    (_engine_meta(max_batch="64"), GPU, "10.3.0", "max_batch '64'"),
    (_engine_meta(precision="bf16"), GPU, "10.3.0", "precision 'bf16'"),
    (ModelMeta(model="edgenet"), GPU, "10.3.0", "no TensorRT build record"),
])
def test_engine_metadata_that_does_not_fit_is_refused(meta, gpu, trt_version, phrase):
    with pytest.raises(ModelFileError, match="rebuild it here") as err:
        check_engine_matches(meta, trt_version, gpu, Path("m.engine"))
    assert phrase in str(err.value)


def test_engine_without_a_gpu_is_a_clear_error():
    with pytest.raises(EdgeemoError, match="no NVIDIA GPU"):
        check_engine_matches(_engine_meta(), "10.3.0", None, Path("m.engine"))


def test_engine_io_must_match_the_metadata():
    meta = ModelMeta(model="edgenet")
    ok = {"input": (True, [-1, 1, 48, 48]), "logits": (False, [-1, 7])}
    assert check_engine_io(Path("m.engine"), meta, ok) == ("input", "logits")
    cases = {
        "fixed batch size of 8": {"input": (True, [8, 1, 48, 48]), "logits": (False, [8, 7])},
        "output has shape [-1, 10]": {"input": (True, [-1, 1, 48, 48]), "logits": (False, [-1, 10])},
        "metadata says N×1×48×48": {"input": (True, [-1, 3, 48, 48]), "logits": (False, [-1, 7])},
        "one input and one output": {"input": (True, [-1, 1, 48, 48]), "a": (False, [-1, 7]), "b": (False, [-1])},
    }
    for phrase, io in cases.items():
        with pytest.raises(ModelFileError) as err:
            check_engine_io(Path("m.engine"), meta, io)
        assert phrase in str(err.value), (phrase, str(err.value))


def test_engine_sidecar_missing_or_damaged(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\0" * 16)
    with pytest.raises(ModelFileError, match="m.json is missing"):
        read_engine_meta(engine)
    engine.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        read_engine_meta(engine)
    engine.with_suffix(".json").write_text(json.dumps({"model": "edgenet"}))
    with pytest.raises(ModelFileError, match="incomplete"):
        read_engine_meta(engine)


# -- the TensorRT INT8 QDQ model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def qdq_models(tmp_path_factory):
    """The shipped FP32 model quantized in both schemes, calibrated on generated inputs (format test only)."""
    pytest.importorskip("onnx", reason="quantization needs onnx")
    from edgeemo.export.calibration import QuantData
    from edgeemo.export.onnx_int8 import DEFAULT_RECIPES, quantize_ort_int8
    from edgeemo.model_files import DEFAULT_MODEL
    from edgeemo.modelmeta import ModelMeta as _Meta

    out = tmp_path_factory.mktemp("qdq")
    rng = np.random.default_rng(0)
    pre = _Meta(model="edgenet").preprocess
    qdata = QuantData(calib=pre(rng.integers(0, 256, (64, 48, 48), dtype=np.uint8)),
                      val_images=rng.integers(0, 256, (64, 48, 48), dtype=np.uint8),
                      val_labels=rng.integers(0, 7, 64), source="generated")
    recipe = (DEFAULT_RECIPES[1],)  # MinMax per-channel
    trt, _ = quantize_ort_int8(DEFAULT_MODEL, out / "trt.onnx", qdata, recipes=recipe, scheme="tensorrt",
                               log=lambda s: None)
    ort, _ = quantize_ort_int8(DEFAULT_MODEL, out / "ort.onnx", qdata, recipes=recipe, scheme="ort",
                               log=lambda s: None)
    return trt, ort


def test_tensorrt_qdq_model_is_int8_symmetric_with_zero_point_0(qdq_models):
    import onnx
    from onnx import numpy_helper

    from edgeemo.export.onnx_export import read_metadata
    from edgeemo.export.qdq_check import check_tensorrt_qdq
    from edgeemo.export.tensorrt_export import check_int8_source

    trt, _ = qdq_models
    model = onnx.load(str(trt))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert qdq
    for n in qdq:  # every one: an int8 zero-point equal to 0
        zp = init[n.input[2]]
        assert zp.dtype == np.int8 and not zp.any(), n.name
    biases = [init[n.input[2]] for n in model.graph.node if n.op_type in ("Conv", "Gemm") and len(n.input) > 2]
    assert biases and all(b.dtype == np.float32 for b in biases)  # TensorRT quantizes biases itself
    summary = check_tensorrt_qdq(model, str(trt))
    assert summary["quantize_nodes"] > 0 and summary["per_channel_weight_nodes"] > 0
    meta = read_metadata(trt)
    assert meta.info["quantization"]["scheme"] == "tensorrt"
    assert meta.info["quantization"]["qdq_check"] == summary
    assert check_int8_source(trt, meta) == summary


def test_onnx_runtime_uint8_model_is_refused_for_tensorrt(qdq_models):
    import onnx

    from edgeemo.export.onnx_export import read_metadata
    from edgeemo.export.qdq_check import check_tensorrt_qdq
    from edgeemo.export.tensorrt_export import check_int8_source

    _, ort = qdq_models
    with pytest.raises(ModelFileError, match="zero-point type uint8"):
        check_tensorrt_qdq(onnx.load(str(ort)), str(ort))
    with pytest.raises(EdgeemoError, match="TensorRT INT8 QDQ model"):
        check_int8_source(ort, read_metadata(ort))


def test_qdq_check_catches_each_broken_rule(qdq_models):
    import onnx
    from onnx import numpy_helper

    from edgeemo.export.qdq_check import check_tensorrt_qdq

    trt, _ = qdq_models

    def broken(edit) -> onnx.ModelProto:
        m = onnx.load(str(trt))
        edit(m)
        return m

    def set_first_zero_point(value):
        def edit(m):
            q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear")
            t = next(t for t in m.graph.initializer if t.name == q.input[2])
            t.CopyFrom(numpy_helper.from_array(np.array(value, np.int8), t.name))
        return edit

    def drop_zero_point(m):
        q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear")
        del q.input[2]

    def negative_scale(m):
        q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear")
        t = next(t for t in m.graph.initializer if t.name == q.input[1])
        t.CopyFrom(numpy_helper.from_array(-np.abs(numpy_helper.to_array(t)), t.name))

    for edit, phrase in ((set_first_zero_point(3), "is not 0"), (drop_zero_point, "no zero-point"),
                         (negative_scale, "not positive")):
        with pytest.raises(ModelFileError, match=phrase):
            check_tensorrt_qdq(broken(edit), "m.onnx")
    with pytest.raises(ModelFileError, match="no QuantizeLinear"):
        from edgeemo.model_files import DEFAULT_MODEL

        check_tensorrt_qdq(onnx.load(str(DEFAULT_MODEL)), "fp32.onnx")
