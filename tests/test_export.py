"""Export parity on real FER2013 faces: every format × precision against torch FP32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="export needs the 'train' extra (torch, onnx)")
pytest.importorskip("onnx", reason="export needs onnx")

from edgeemo.backends import open_backend  # noqa: E402
from edgeemo.export.onnx_export import read_metadata  # noqa: E402
from edgeemo.export.pipeline import export_model  # noqa: E402
from edgeemo.modelmeta import META_KEY  # noqa: E402

HAS_OPENVINO = True
try:
    import nncf  # noqa: F401
    import openvino  # noqa: F401
except ImportError:
    HAS_OPENVINO = False


@pytest.fixture(scope="module")
def exported(default_checkpoint, fer_npz, tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("export")
    formats = ("onnx", "openvino") if HAS_OPENVINO else ("onnx",)
    arts = export_model(default_checkpoint, formats, ("fp32", "fp16", "int8"), out_dir=out, data=fer_npz,
                        log=lambda s: None)
    assert all(a.status == "ok" for a in arts), [(a.format, a.precision, a.reason) for a in arts]
    return {(a.format, a.precision): Path(a.path) for a in arts}


@pytest.fixture(scope="module")
def torch_reference(default_checkpoint, fer_npz):
    """torch FP32 predictions on all of PublicTest (3,589 faces, the natural class mix)."""
    from edgeemo.data import load_dataset

    public = load_dataset(fer_npz).get_split("PublicTest")
    images, labels = public.images, public.labels
    ref = open_backend(default_checkpoint, "torch")
    x = ref.meta.preprocess(images)
    return x, labels, ref.predict(x).argmax(1)


def test_onnx_file_is_self_contained(exported):
    import onnx

    path = exported[("onnx", "fp32")]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert any(p.key == META_KEY for p in model.metadata_props)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.opset_import[0].version == 17
    meta = read_metadata(path)
    assert meta.classes[3] == "happy" and meta.preprocess.size == (48, 48) and len(meta.source_sha256) == 64
    assert not list(path.parent.glob("*.data"))  # no external-data side files


def test_fp16_has_float32_io(exported):
    import onnx

    m = onnx.load(str(exported[("onnx", "fp16")]))
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert m.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in m.graph.initializer)


def test_int8_is_qdq_and_records_its_recipe(exported):
    import onnx

    m = onnx.load(str(exported[("onnx", "int8")]))
    ops = {n.op_type for n in m.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    q = read_metadata(exported[("onnx", "int8")]).info["quantization"]
    assert q["chosen"] and len(q["candidates"]) == 6 and "Training" in q["calibration"]


@pytest.mark.parametrize("key,threshold", [
    (("onnx", "fp32"), 0.995), (("onnx", "fp16"), 0.995), (("onnx", "int8"), 0.97),
    (("openvino", "fp32"), 0.995), (("openvino", "fp16"), 0.995), (("openvino", "int8"), 0.97),
])
def test_parity_with_torch(exported, torch_reference, key, threshold):
    if key not in exported:
        pytest.skip("OpenVINO/NNCF (the 'openvino' extra) is not installed")
    x, labels, ref_pred = torch_reference
    be = open_backend(exported[key])
    pred = np.concatenate([be.predict(x[i : i + 128]) for i in range(0, len(x), 128)]).argmax(1)
    agreement = float((pred == ref_pred).mean())
    assert agreement >= threshold, f"{key}: top-1 agreement {agreement:.4f} < {threshold}"
    # and the model is a real classifier, not just consistent:
    assert (pred == labels).mean() > 0.5


def test_any_backend_reads_metadata_from_the_file_alone(exported, fer_sample):
    from edgeemo.classifier import EmotionClassifier

    images, _ = fer_sample
    for key, path in exported.items():
        clf = EmotionClassifier(path)
        probs = clf.predict_proba(images[:5])
        assert probs.shape == (5, 7) and np.allclose(probs.sum(1), 1, atol=1e-4), key
        assert clf.meta.precision == key[1]
