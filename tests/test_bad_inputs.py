"""The bad-input corpus: every file is built here, in tmp_path, and every case ends in the right
answer or one clear error line — never a silent wrong result, never code from a model file,
never a lost input, never an "internal error".

Model files come from strangers: a planted ``__reduce__`` payload in a ``.pt`` would create a
marker file if it ran; every command that opens a model must refuse it with the marker absent.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from edgeemo.cli import main
from edgeemo.errors import EdgeemoError
from edgeemo.model_files import DEFAULT_MODEL

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CNN1 = REPO / "benchmarks" / "weights" / "cnn1.pt"


# -- helpers ----------------------------------------------------------------------------------------
def cli(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(res, *phrases: str, code: int = 2) -> str:
    """The command failed with exactly one 'error: ...' line on stderr that names each phrase."""
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "internal error" not in res.output and "Traceback" not in res.output
    for p in phrases:
        assert p in lines[0], (p, lines[0])
    return lines[0]


def faces_npz(path: Path, images: np.ndarray | None = None, labels=None, n: int = 60, seed: int = 0) -> Path:
    """Generated stand-in faces (noise, not people) with labels and the three FER2013 splits."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8) if images is None else images
    n = len(images)
    labels = rng.integers(0, 7, n) if labels is None else labels
    split = np.arange(n) % 3
    np.savez(path, images=images, labels=labels, split_id=split)
    return path


class Payload:
    """Unpickling this calls open(marker, 'w'): the file appears if the payload ever runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def planted(tmp_path):
    """A torch checkpoint and a plain-pickle .pt, both carrying the payload, and the marker path."""
    torch = pytest.importorskip("torch", reason="torch (the 'train' extra) writes the .pt files")
    marker = tmp_path / "PAYLOAD_RAN"
    if SHIPPED_CNN1.exists():
        ck = torch.load(SHIPPED_CNN1, weights_only=True)
    else:
        ck = {"format": "edgeemo-checkpoint", "format_version": 1, "meta": {"model": "cnn1"}, "state_dict": {}}
    ck["meta"]["note"] = Payload(marker)
    torch.save(ck, tmp_path / "evil.pt")
    with open(tmp_path / "evil_plain.pt", "wb") as f:
        pickle.dump({"format": "edgeemo-checkpoint", "meta": Payload(marker)}, f)
    assert not marker.exists()
    return tmp_path / "evil.pt", tmp_path / "evil_plain.pt", marker


def tiny_onnx(path: Path, *, outputs: int = 7, batch: int | str = "N", perm=None, poison: float | None = None) -> Path:
    """A real, runnable ONNX classifier (flatten → Gemm) with edgeemo metadata saying 7 classes
    (``perm``: the same classifier with its outputs, and the class names, in another order;
    ``poison``: every weight of the first class set to it, e.g. NaN or one that overflows on real faces)."""
    onnx = pytest.importorskip("onnx", reason="building ONNX files needs onnx")
    from onnx import TensorProto, helper, numpy_helper

    from edgeemo.export.onnx_export import set_metadata
    from edgeemo.modelmeta import ModelMeta

    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.01, (outputs, 48 * 48)).astype(np.float32)
    if poison is not None:
        weights[0] = poison
    w = numpy_helper.from_array(weights if perm is None else weights[list(perm)], "w")
    b = numpy_helper.from_array(np.zeros(outputs, np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"], axis=1),
         helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], transB=1)],
        "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 1, 48, 48])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, outputs])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = ModelMeta(model="edgenet")
    if perm is not None:
        meta.classes = tuple(meta.classes[i] for i in perm)
    set_metadata(model, meta)
    onnx.save(model, str(path))
    return path


def test_models_that_give_nan_or_infinite_logits_are_refused(tmp_path):
    """NaN weights are refused when the file is opened; weights that overflow only on real faces at
    their first batch — never a confident first class ("angry nan%") or a score computed from it."""
    from edgeemo.classifier import EmotionClassifier

    data = faces_npz(tmp_path / "faces.npz")
    nan = tiny_onnx(tmp_path / "nan.onnx", poison=float("nan"))
    huge = tiny_onnx(tmp_path / "huge.onnx", poison=1e38)
    for cmd in (["eval", "--model", nan, "--data", data], ["info", nan]):
        one_line_error(cli(*cmd), "nan.onnx", "NaN or infinite values", "damaged")
    one_line_error(cli("eval", "--model", huge, "--data", data, "--split", "all"),
                   "NaN or infinite values for 60 of 60 faces", "FP32")
    clf = EmotionClassifier(huge)  # opens: its check input is all zeros, and zero times the huge weights is 0
    with pytest.raises(EdgeemoError, match="NaN or infinite values for 1 of 1 faces"):
        clf.predict(np.full((48, 48), 200, np.uint8))


# -- code in model files --------------------------------------------------------------------------
def test_planted_payload_never_runs_in_any_command(planted, tmp_path):
    evil, plain, marker = planted
    data = faces_npz(tmp_path / "faces.npz")
    for pt in (evil, plain):
        for args in (["info", pt],
                     ["eval", "--model", pt, "--data", data],
                     ["export", "--model", pt, "--out", tmp_path / "exp"],
                     ["average", pt, pt, "--data", data, "--out", tmp_path / "avg.pt"]):
            res = cli(*args)
            one_line_error(res, str(pt), "refused to load", "could run code")
            assert not marker.exists(), f"the payload ran in: edgeemo {args[0]}"
        one_line_error(cli("compare", "--model", pt, "--data", data, "--out", tmp_path / "exp"), "refused to load")
        res = cli("bench", "--device", "cpu", "--model", pt, "--backend", "onnxruntime", "--precision", "fp32",
                  "--out", tmp_path / "b", "--export-dir", tmp_path / "exp", "--no-plot")
        assert res.exit_code == 1 and "refused to load" in json.loads((tmp_path / "b.json").read_text())[
            "records"][0]["reason"], res.output  # the row keeps its place, with the reason; nothing measured
        from edgeemo.classifier import EmotionClassifier

        with pytest.raises(EdgeemoError, match="refused to load"):
            EmotionClassifier(pt)
        assert not marker.exists()
    assert not (tmp_path / "avg.pt").exists()


def test_a_checkpoint_in_the_working_folder_is_used_only_when_named(planted, tmp_path, monkeypatch):
    evil, _, marker = planted
    (tmp_path / "runs" / "cnn1").mkdir(parents=True)
    shutil.copy(evil, tmp_path / "runs" / "cnn1" / "best.pt")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGEEMO_MODELS", raising=False)
    from edgeemo.model_files import locate_model

    if SHIPPED_CNN1.exists():
        loc = locate_model("cnn1")
        assert loc.path == SHIPPED_CNN1 and "benchmarks/weights" in loc.origin
        res = cli("info", "cnn1")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["resolved_from"] == loc.origin
    else:
        with pytest.raises(EdgeemoError, match="runs/cnn1/best.pt"):  # the error says how to name it
            locate_model("cnn1")
    assert not marker.exists()
    one_line_error(cli("info", "runs/cnn1/best.pt"), "refused to load")  # named: read, and refused safely
    assert not marker.exists()


def test_garbled_torch_file_is_refused_without_advice_to_load_it_unsafely(tmp_path):
    pytest.importorskip("torch", reason="torch (the 'train' extra) reads .pt files")
    for name, content in (("garbled.pt", b"x" * 64), ("cut_pickle.pt", b"\x80\x04\x95\x10\x00")):
        (tmp_path / name).write_bytes(content)
        res = cli("info", tmp_path / name)
        one_line_error(res, name, "refused to load", "it is damaged")
        assert "weights_only` set to `False`" not in res.output and "PyTorch 2.6" not in res.output, res.output


# -- one crop is one face; floats only in [0, 1] ----------------------------------------------------
@pytest.fixture(scope="module")
def clf():
    from edgeemo.classifier import EmotionClassifier

    c = EmotionClassifier("default")
    yield c
    c.close()


def test_one_bgr_crop_is_one_face(clf):
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    for crop in (bgr, gray, gray[..., None], cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)):
        assert len(clf.predict(crop)) == 1 and clf.predict_proba(crop).shape == (1, 7)
        np.testing.assert_allclose(clf.predict_proba(crop), clf.predict_proba([gray]), atol=1e-5)


def test_float_crops_in_unit_range_give_the_uint8_answer(clf):
    rng = np.random.default_rng(2)
    faces = rng.integers(0, 256, (20, 48, 48), dtype=np.uint8)
    want = clf.predict_proba(faces)
    for dtype in (np.float32, np.float64, np.float16):
        got = clf.predict_proba((faces / 255.0).astype(dtype))
        assert (got.argmax(1) == want.argmax(1)).all(), dtype
        np.testing.assert_allclose(got, want, atol=2e-3 if dtype == np.float16 else 1e-5)
    assert len({p.label for p in clf.predict((faces / 255.0).astype(np.float32))}) > 1 or len(
        {p.label for p in clf.predict(faces)}) == 1  # not one fixed answer for every float face


@pytest.mark.parametrize("bad,phrase", [
    (np.full((48, 48), np.nan, np.float32), "NaN or infinite"),
    (np.full((48, 48), np.inf, np.float32), "NaN or infinite"),
    (np.full((48, 48), 2.0, np.float32), "float pixels must lie in [0, 1]"),
    (np.full((48, 48), -0.5, np.float32), "float pixels must lie in [0, 1]"),
    (np.zeros((48, 48), np.uint16), "unsupported pixel type uint16"),
    (np.zeros((48, 48), bool), "unsupported pixel type bool"),
    (np.zeros((48, 48), np.int16), "unsupported pixel type int16"),
    (np.zeros((0, 0), np.uint8), "no pixels"),
    (np.zeros((0, 0, 3), np.uint8), "no pixels"),
    (np.zeros((48, 48, 5), np.uint8), "neither one crop nor a batch"),
    (None, "got None"),
    ([np.zeros((48, 48), np.uint8), None], "faces[1]"),
    ("face.jpg", "not an image"),
])
def test_bad_crops_are_one_clear_error(clf, bad, phrase):
    from edgeemo.faces import FaceInputError

    with pytest.raises(FaceInputError) as err:
        clf.predict(bad)
    assert phrase in str(err.value) and "uint8 0-255" in str(err.value)


def test_python_api_settings_out_of_range_are_one_clear_error(clf):
    """A negative max_faces would keep no face, a negative width would resize by a negative factor,
    a negative thread count would reach the runtime."""
    from edgeemo import Analyzer
    from edgeemo.classifier import EmotionClassifier
    from edgeemo.demo.pipeline import EmotionPipeline
    from edgeemo.detectors import YuNetDetector, make_detector

    for kwargs, phrase in (({"max_faces": 0}, "max_faces must be at least 1"),
                           ({"max_faces": -5}, "max_faces must be at least 1"),
                           ({"batch_size": 0}, "batch_size must be"),
                           ({"detect_width": -5}, "detect_width must be 0"),
                           ({"min_face": 0}, "min_face at least 1")):
        with pytest.raises(EdgeemoError, match=phrase):
            Analyzer(classifier=clf, **kwargs)
    with pytest.raises(EdgeemoError, match="detect_width must be 0"):
        make_detector("haar", detect_width=-1)
    with pytest.raises(EdgeemoError, match="min_face at least 1"):
        YuNetDetector(min_face=0)  # built directly, not by name
    with pytest.raises(EdgeemoError, match="max_faces must be at least 1"):
        EmotionPipeline(clf, max_faces=-5)
    assert len(Analyzer(classifier=clf, max_faces=1).analyze(np.zeros((200, 200, 3), np.uint8)).faces) == 0
    for threads in (-3, 1.5, True):
        with pytest.raises(EdgeemoError, match="threads must be a whole number"):
            EmotionClassifier("default", threads=threads)
    assert len(EmotionClassifier("fast", threads=np.int64(1)).predict(np.zeros((48, 48), np.uint8))) == 1


def test_batch_size_must_be_positive_and_empty_batch_is_zero_faces(clf):
    from edgeemo.faces import FaceInputError

    faces = np.zeros((3, 48, 48), np.uint8)
    for bs in (0, -1):
        with pytest.raises(FaceInputError, match="batch_size must be"):
            clf.predict_proba(faces, batch_size=bs)
    assert clf.predict_proba([]).shape == (0, 7)
    assert clf.predict_proba(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    np.testing.assert_allclose(clf.predict_proba(faces, batch_size=1), clf.predict_proba(faces), atol=1e-6)


# -- datasets: the same contract, and clear errors --------------------------------------------------
def _eval_acc(model, data) -> float:
    from edgeemo.evaluate import evaluate

    return evaluate(model, data, split="all")["accuracy"]


def test_npz_pixels_follow_the_same_contract(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (60, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, 7, 60)
    ref = _eval_acc("default", faces_npz(tmp_path / "u8.npz", images, labels))
    assert _eval_acc("default", faces_npz(tmp_path / "f.npz", (images / 255.0).astype(np.float32), labels)) == ref
    cases = {
        "signed.npz": ((images / 127.5 - 1.0).astype(np.float32), "float pixels must lie in [0, 1]"),
        "int16.npz": (images.astype(np.int16) * 4, "unsupported pixel type int16"),
        "nan.npz": (np.full((60, 48, 48), np.nan, np.float32), "NaN or infinite"),
        "uint16.npz": (images.astype(np.uint16), "unsupported pixel type uint16"),
    }
    for name, (imgs, phrase) in cases.items():
        res = cli("eval", "--data", faces_npz(tmp_path / name, imgs, labels), "--split", "all")
        one_line_error(res, name, phrase)


def test_string_labels_are_mapped_by_name(tmp_path):
    from edgeemo.labels import CLASSES

    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (60, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, 7, 60)
    ref = _eval_acc("default", faces_npz(tmp_path / "ints.npz", images, labels))
    names = np.array([CLASSES[i] for i in labels])
    assert _eval_acc("default", faces_npz(tmp_path / "names.npz", images, names)) == ref
    bad = names.copy()
    bad[5] = "bored"
    one_line_error(cli("eval", "--data", faces_npz(tmp_path / "bored.npz", images, bad)), "bored")


def test_empty_and_damaged_data_files(tmp_path):
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    one_line_error(cli("eval", "--data", empty), "empty.npz", "empty (0 bytes)")
    one_line_error(cli("bench", "--device", "cpu", "--model", "default", "--data", empty, "--out",
                       tmp_path / "b", "--export-dir", tmp_path / "exp", "--no-plot"), "empty (0 bytes)")
    one_line_error(cli("train", "--model", "cnn1", "--data", empty, "--out", tmp_path / "run"), "empty (0 bytes)")
    (tmp_path / "junk.npz").write_bytes(os.urandom(500))
    one_line_error(cli("eval", "--data", tmp_path / "junk.npz"), "not a readable .npz")
    no_faces = faces_npz(tmp_path / "none.npz", np.zeros((0, 48, 48), np.uint8), np.zeros(0, int))
    one_line_error(cli("eval", "--data", no_faces, "--split", "all"), "holds no faces")
    np.savez(tmp_path / "objects.npz", images=np.zeros((2, 48, 48), np.uint8), labels=np.array([1, "x"], object))
    one_line_error(cli("eval", "--data", tmp_path / "objects.npz"), "Python objects")


# -- counts: 0 never means "everything" -------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-5"])
def test_limit_and_batch_size_must_be_at_least_one(tmp_path, value):
    data = faces_npz(tmp_path / "faces.npz")
    one_line_error(cli("eval", "--data", data, "--limit", value), "--limit", "x>=1", "edgeemo eval --help")
    one_line_error(cli("eval", "--data", data, "--batch-size", value), "--batch-size")
    one_line_error(cli("bench", "--device", "cpu", "--data", data, "--limit", value), "--limit")
    one_line_error(cli("compare", "--data", data, "--limit", value), "--limit")
    one_line_error(cli("vlm-eval", "--backend", "openai", "--model", "gpt-4o", "--data", data, "--limit", value),
                   "--limit")
    one_line_error(cli("train", "--model", "cnn1", "--data", data, "--epochs", value), "--epochs")
    one_line_error(cli("train", "--model", "cnn1", "--data", data, "--batch-size", value), "--batch-size")
    from edgeemo.evaluate import evaluate

    with pytest.raises(EdgeemoError, match="limit must be at least 1"):
        evaluate("default", data, limit=int(value))


def test_demo_port_out_of_range():
    one_line_error(cli("demo", "--web", "--port", "99999"), "--port", "99999")


# -- model files that disagree with their metadata -------------------------------------------------
def test_models_whose_shape_disagrees_with_their_metadata_are_refused(tmp_path):
    data = faces_npz(tmp_path / "faces.npz")
    ten = tiny_onnx(tmp_path / "ten.onnx", outputs=10)
    fixed = tiny_onnx(tmp_path / "fixed.onnx", batch=1)
    good = tiny_onnx(tmp_path / "good.onnx")
    for cmd in (["eval", "--model", ten, "--data", data], ["info", ten]):
        one_line_error(cli(*cmd), "ten.onnx", "output has shape", "7 classes")
    one_line_error(cli("eval", "--model", fixed, "--data", data), "fixed batch size of 1")
    one_line_error(cli("export", "--model", fixed, "--out", tmp_path / "exp"), "fixed batch size of 1")
    assert cli("eval", "--model", good, "--data", data, "--split", "all").exit_code == 0
    pytest.importorskip("openvino", reason="OpenVINO (the 'openvino' extra) opens the same files")
    from edgeemo.backends import open_backend

    with pytest.raises(EdgeemoError, match="output has shape"):
        open_backend(ten, "openvino")


def test_a_model_listing_its_classes_in_another_order_is_scored_by_name(tmp_path):
    from edgeemo.evaluate import evaluate

    data = faces_npz(tmp_path / "faces.npz", n=90)
    fer = evaluate(tiny_onnx(tmp_path / "fer.onnx"), data, split="all")
    other = evaluate(tiny_onnx(tmp_path / "perm.onnx", perm=(6, 5, 4, 3, 2, 1, 0)), data, split="all")
    assert other["confusion"] == fer["confusion"] and other["accuracy"] == fer["accuracy"]


def test_truncated_and_random_onnx_files(tmp_path):
    data = faces_npz(tmp_path / "faces.npz")
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(DEFAULT_MODEL.read_bytes()[:3000])
    rand = tmp_path / "random.onnx"
    rand.write_bytes(np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    for f in (trunc, rand):
        one_line_error(cli("export", "--model", f, "--out", tmp_path / "exp"), f.name)
        one_line_error(cli("compare", "--model", f, "--data", data, "--out", tmp_path / "exp"), f.name)
        one_line_error(cli("eval", "--model", f, "--data", data), f.name)
        one_line_error(cli("info", f), f.name)


# -- outputs: checked before the work, never an input ------------------------------------------------
def test_output_equal_to_the_data_is_refused_and_the_data_survives(tmp_path):
    data = faces_npz(tmp_path / "faces.npz")
    before = data.read_bytes()
    one_line_error(cli("eval", "--data", data, "--json", data), "--json", "also an input")
    assert data.read_bytes() == before
    one_line_error(cli("eval", "--data", data, "--json", tmp_path / "m.json", "--confusion-png", data),
                   "--confusion-png", "also an input")
    assert data.read_bytes() == before and not (tmp_path / "m.json").exists()


def test_output_paths_that_cannot_be_written(tmp_path):
    data = faces_npz(tmp_path / "faces.npz")
    afile = tmp_path / "afile"
    afile.write_text("x")
    (tmp_path / "adir").mkdir()
    one_line_error(cli("eval", "--data", data, "--json", afile / "m.json"), "is a file, not a folder")
    one_line_error(cli("eval", "--data", data, "--json", tmp_path / "adir"), "is a folder")
    one_line_error(cli("compare", "--data", data, "--json", afile / "c.json", "--out", tmp_path / "exp"),
                   "is a file, not a folder")
    assert not (tmp_path / "exp").exists()  # refused before exporting anything
    one_line_error(cli("bench", "--device", "cpu", "--model", "default", "--out", afile / "bench",
                       "--export-dir", tmp_path / "exp"), "--out", "is a file, not a folder")
    one_line_error(cli("bench", "--device", "cpu", "--model", "default", "--out", tmp_path / "b",
                       "--export-dir", afile), "--export-dir", "is a file, not a folder")
    one_line_error(cli("export", "--model", "default", "--out", afile), "is a file, not a folder")
    assert not (tmp_path / "exp").exists()


def _honour_permissions() -> dict | None:
    """subprocess options under which read-only folders are read-only: root drops the capabilities
    that let it write anywhere (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its children."""
    if os.geteuid() != 0:
        return {}
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (1, 2):  # PR_CAPBSET_DROP: gone from the bounding set, so from the child's permitted set
            if libc.prctl(24, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    folder = Path(tempfile.mkdtemp(prefix="edgeemo-probe-"))
    try:
        folder.chmod(0o555)
        probe = subprocess.run([sys.executable, "-c", f"import os; print(os.access({str(folder)!r}, os.W_OK))"],
                               preexec_fn=drop, capture_output=True, text=True)
    finally:
        folder.chmod(0o755)
        folder.rmdir()
    return {"preexec_fn": drop} if probe.returncode == 0 and probe.stdout.strip() == "False" else None


def test_read_only_outputs_fail_before_any_work():
    opts = _honour_permissions()
    if opts is None:
        pytest.skip("running as root without the right to drop CAP_DAC_OVERRIDE: read-only folders are writable")
    base = Path(tempfile.mkdtemp(prefix="edgeemo-ro-", dir="/tmp"))
    try:
        base.chmod(0o755)
        data = faces_npz(base / "faces.npz")
        data.chmod(0o644)
        ro = base / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(base), "EDGEEMO_DEBUG": ""}
        for args, option in (
            (["eval", "--data", data, "--json", ro / "m.json"], "--json"),
            (["compare", "--data", data, "--out", ro / "exp"], "--out"),
            (["bench", "--device", "cpu", "--model", "default", "--out", ro / "b", "--export-dir", base / "e"],
             "--out"),
            (["bench", "--device", "cpu", "--model", "default", "--out", base / "b", "--export-dir", ro / "e"],
             "--export-dir"),
        ):
            res = subprocess.run([sys.executable, "-m", "edgeemo", *map(str, args)], capture_output=True, text=True,
                                 env=env, cwd=base, timeout=300, **opts)
            err = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
            assert res.returncode == 2 and len(err) == 1, (args, res.stderr)
            assert err[0].startswith(f"error: {option}") and "not writable" in err[0], err[0]
        assert not (base / "e").exists()  # nothing was exported before the refusal
    finally:
        for p in base.rglob("*"):
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(base)


# -- bench: no silent success, interruptions marked everywhere --------------------------------------
def test_bench_exits_non_zero_when_no_row_was_measured(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(DEFAULT_MODEL.read_bytes()[:2000])
    res = cli("bench", "--device", "cpu", "--model", broken, "--backend", "onnxruntime", "--precision", "fp32",
              "--out", tmp_path / "b", "--export-dir", tmp_path / "exp", "--no-plot")
    assert res.exit_code == 1, res.output
    assert "no row was measured" in res.stderr and "internal error" not in res.output
    rec = json.loads((tmp_path / "b.json").read_text())["records"]
    assert [r["status"] for r in rec] == ["failed"] and "broken.onnx" in rec[0]["reason"]


def _workers(pid: int) -> list[int]:
    """The bench's measuring processes: children of ``pid`` running edgeemo.bench.worker."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"edgeemo.bench.worker" in cmdline:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_bench_stopped_by_sigterm_says_so_in_every_output(tmp_path):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the measuring process")
    stem = tmp_path / "b"
    cmd = [sys.executable, "-m", "edgeemo", "bench", "--device", "cpu", "--model", "default", "--backend",
           "onnxruntime", "--precision", "fp32,fp16", "--min-seconds", "120", "--min-runs", "1", "--warmup", "1",
           "--out", str(stem), "--export-dir", str(tmp_path / "exp")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 240
    workers: list[int] = []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        workers = _workers(proc.pid)  # the first row is being measured
    assert workers, "the bench never started measuring"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert not any(_alive(w) for w in workers)  # the measuring process was stopped too
    res = json.loads(stem.with_suffix(".json").read_text())
    assert res["metadata"]["interrupted"] is True and res["metadata"]["interrupted_by"] == "SIGTERM"
    assert res["metadata"]["status"] == "interrupted"
    assert [r["status"] for r in res["records"]] == ["not run", "not run"]
    assert all("SIGTERM" in r["reason"] for r in res["records"])
    csv = stem.with_suffix(".csv").read_text().splitlines()
    assert csv[0].startswith("run,") and all(line.startswith("interrupted,") for line in csv[1:])
    assert "**Interrupted** (SIGTERM)" in stem.with_suffix(".md").read_text()


# -- video, start-up, and a server that never answers ------------------------------------------------
def _garbled_video(path: Path) -> int:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    if not w.isOpened():
        pytest.skip("this OpenCV build cannot write mp4v video")
    for i in range(48):
        f = np.full((48, 64, 3), i * 5, np.uint8)
        cv2.putText(f, str(i), (5, 30), 0, 1, (255, 255, 255), 2)
        w.write(f)
    w.release()
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for start in (len(data) // 2, len(data) // 2 + len(data) // 8):
        data[start : start + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return 48


def test_video_with_damaged_frames_skips_and_counts_them(tmp_path):
    from edgeemo.demo.sources import open_source

    total = _garbled_video(tmp_path / "bad.mp4")
    with open_source(tmp_path / "bad.mp4") as src:
        frames = list(src)
    assert src.end_reason == "ended" and src.bad_frames >= 1
    assert len(frames) + src.bad_frames == total and len(frames) > total // 2 + 1  # read past the damage
    assert f"{src.bad_frames} damaged frame(s)" in src.message
    res = cli("demo", "--source", tmp_path / "bad.mp4", "--no-display", "--jsonl", tmp_path / "f.jsonl")
    assert res.exit_code == 0, res.output
    assert "damaged frame(s) could not be decoded and were skipped" in res.stderr
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == len(frames)


def _wait_until_loaded(proc: subprocess.Popen, library: str, timeout: float = 60.0) -> None:
    """Wait until ``proc`` has mapped ``library`` (so it is past the interpreter's own start-up), or ended."""
    maps = Path(f"/proc/{proc.pid}/maps")
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        try:
            if library in maps.read_text():
                return
        except OSError:
            return
        time.sleep(0.002)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see when start-up is past")
def test_ctrl_c_during_start_up_prints_no_traceback():
    """Ctrl-C while edgeemo loads its runtimes gives one line, not a traceback. The signal is sent once the
    process has loaded numpy (inside edgeemo's guarded import, past the interpreter's own start-up, which is
    the interpreter's business), then later, so that a loaded machine does not change what is tested."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for delay in (0.0, 0.2, 0.6):
        proc = subprocess.Popen([sys.executable, "-m", "edgeemo", "info", "default"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        _wait_until_loaded(proc, "numpy")
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, (delay, err)
        assert proc.returncode in (0, 130, -signal.SIGINT), (delay, proc.returncode, err)
        if proc.returncode == 130:
            assert err.strip().splitlines()[-1].strip() == "interrupted"


def test_ctrl_c_inside_a_weakref_callback_still_stops_the_command():
    """A Ctrl-C that lands while Python runs a weakref callback (the import system's module locks use them)
    cannot be raised there; Python would print it as an ignored exception with a traceback and carry on.
    edgeemo's handler delivers it again once the callback has returned."""
    script = textwrap.dedent("""
        import os, signal, time, weakref
        from edgeemo.errors import note_interrupt, redeliver_swallowed_interrupts
        signal.signal(signal.SIGINT, note_interrupt)
        redeliver_swallowed_interrupts()
        class Thing: pass
        def callback(ref):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000): pass  # the handler runs here, inside the callback
        thing = Thing(); ref = weakref.ref(thing, callback)
        try:
            del thing
            end = time.monotonic() + 10
            while time.monotonic() < end: pass
            print("carried on")
        except KeyboardInterrupt:
            print("stopped")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.strip() == "stopped" and "Traceback" not in proc.stderr, (proc.stdout, proc.stderr)


def test_a_ctrl_c_wrapped_in_another_exception_reads_as_interrupted():
    """Python wraps a KeyboardInterrupt raised while a class is created (a dataclass field's ``__set_name__``)
    in a RuntimeError; the command still says "interrupted", not "internal error"."""
    import click

    from edgeemo.cli import EdgeemoGroup

    class Field:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    @click.group(cls=EdgeemoGroup)
    def group() -> None:
        pass

    @group.command()
    def load() -> None:
        type("Profile", (), {"detect": Field()})

    res = CliRunner().invoke(group, ["load"])
    assert res.exit_code == 130, res.output
    assert "interrupted" in res.stderr and "internal error" not in res.stderr


def test_unknown_command_or_option_names_the_help_to_read():
    one_line_error(cli("evaluate"), "No such command 'evaluate'", "(see 'edgeemo --help')")
    one_line_error(cli("eval", "--bogus"), "--bogus", "(see 'edgeemo eval --help')")
    one_line_error(cli("--bogus"), "--bogus", "(see 'edgeemo --help')")


def test_a_ctrl_c_in_argument_handling_reads_as_interrupted():
    """A Ctrl-C that lands while click parses the arguments (outside the command) still says "interrupted" and
    exits 130, not click's "Aborted!" and 1."""
    import click

    from edgeemo.cli import EdgeemoGroup

    def parse(ctx, param, value):
        raise KeyboardInterrupt

    @click.group(cls=EdgeemoGroup)
    @click.option("--level", callback=parse)
    def group(level) -> None:
        pass

    @group.command()
    def load() -> None:
        pass

    res = CliRunner().invoke(group, ["--level", "1", "load"])
    assert res.exit_code == 130, res.output
    assert res.stderr.strip().splitlines()[-1] == "interrupted" and "Aborted" not in res.stderr


def test_api_server_that_never_answers_is_reported_while_retrying(tmp_path):
    pytest.importorskip("openai", reason="openai is not installed: pip install 'edgeemo[openai]'")
    from vlm_fixtures.servers import ScriptedProxy

    data = faces_npz(tmp_path / "faces.npz")
    with ScriptedProxy(None, [("stall", 4.0)] * 3) as proxy:
        t0 = time.monotonic()
        res = cli("vlm-eval", "--backend", "openai", "--model", "m", "--base-url", proxy.url, "--data", data,
                  "--split", "all", "--limit", "2", "--batch-size", "2", "--timeout", "1", "--retries", "1",
                  "--no-cache")
        took = time.monotonic() - t0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert res.exit_code == 2 and "internal error" not in res.output, res.output
    assert any("no answer within 1 s; retry 1 of 1" in ln for ln in lines), res.stderr
    assert lines[-1].startswith("error: ") and "gave up after 2 attempts" in lines[-1], lines[-1]
    assert took < 30
