"""INT8 by default: the shipped INT8 file, how ``precision="auto"`` chooses, and what it records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeemo.errors import EdgeemoError
from edgeemo.model_files import DEFAULT_INT8_MODEL, DEFAULT_MODEL, SHIPPED


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEEMO_CACHE_DIR", str(tmp_path))
    return tmp_path / "precision.json"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_int8_file_carries_labels_preprocessing_and_its_recipe(name):
    from edgeemo.backends import open_backend

    shipped = SHIPPED[name]
    fp32, int8 = open_backend(shipped.fp32), open_backend(shipped.int8)
    assert fp32.meta.precision == "fp32" and int8.meta.precision == "int8"
    assert int8.meta.classes == fp32.meta.classes and int8.meta.preprocess == fp32.meta.preprocess
    assert int8.meta.source_sha256 == fp32.meta.source_sha256  # the same weights
    q = int8.meta.info["quantization"]
    assert q["chosen"].endswith("per-tensor") and q["within_budget"]
    record = json.loads(shipped.record.read_text())
    from edgeemo.filehash import file_sha256

    assert record["files"]["int8"]["sha256"] == file_sha256(shipped.int8)
    assert record["files"]["fp32"]["sha256"] == file_sha256(shipped.fp32)


def test_auto_measures_once_then_uses_the_cached_decision(cache):
    from edgeemo.classifier import EmotionClassifier
    from edgeemo.precision import INT8_IF_RATIO

    clf = EmotionClassifier("default", threads=1)
    c = clf.precision_choice
    assert c.how == "measured" and c.fp32_ms > 0 and c.int8_ms > 0
    assert c.precision == ("int8" if c.int8_ms <= INT8_IF_RATIO * c.fp32_ms else "fp32")  # the rule, as measured
    assert clf.meta.precision == c.precision and str(clf.path) == c.path
    assert "measured now" in c.describe()
    again = EmotionClassifier("default", threads=1).precision_choice
    assert again.how == "cached" and (again.fp32_ms, again.int8_ms, again.precision) == (c.fp32_ms, c.int8_ms,
                                                                                         c.precision)
    assert len(json.loads(cache.read_text())) == 1


def _record(cache, fp32_ms: float, int8_ms: float) -> None:
    from edgeemo.backends import open_backend
    from edgeemo.precision import _machine_key

    key = _machine_key(open_backend(DEFAULT_MODEL, threads=1), 1)
    cache.write_text(json.dumps({key: {"fp32_ms": fp32_ms, "int8_ms": int8_ms}}))


def test_int8_runs_only_where_it_was_measured_faster(cache):
    from edgeemo.classifier import EmotionClassifier

    _record(cache, 3.0, 1.0)
    clf = EmotionClassifier("default", threads=1)
    assert (clf.precision_choice.precision, clf.precision_choice.how, clf.meta.precision) == ("int8", "cached", "int8")
    _record(cache, 3.0, 2.9)  # not 10% faster: FP32, the exact reference
    clf = EmotionClassifier("default", threads=1)
    assert (clf.precision_choice.precision, clf.meta.precision, clf.path) == ("fp32", "fp32", DEFAULT_MODEL)


def test_precision_can_be_forced_and_is_checked(cache):
    from edgeemo.classifier import EmotionClassifier

    assert EmotionClassifier("default", precision="fp32").meta.precision == "fp32"
    forced = EmotionClassifier("default", precision="int8")
    assert forced.meta.precision == "int8" and forced.precision_choice.how == "asked"
    assert not cache.exists()  # nothing measured when the precision is given
    with pytest.raises(EdgeemoError, match="unknown precision"):
        EmotionClassifier("default", precision="fp16")
    with pytest.raises(EdgeemoError, match="is a fp32 model, not int8"):
        EmotionClassifier(str(DEFAULT_MODEL), precision="int8")
    assert EmotionClassifier(str(DEFAULT_INT8_MODEL)).precision_choice.how == "file"


def test_an_unwritable_cache_still_gives_a_choice(tmp_path, monkeypatch):
    from edgeemo.classifier import EmotionClassifier

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("EDGEEMO_CACHE_DIR", str(blocker / "sub"))
    assert EmotionClassifier("default").precision_choice.how == "measured"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_int8_and_fp32_agree_on_real_faces(fer_sample, name):
    from edgeemo.classifier import EmotionClassifier

    faces, labels = fer_sample
    p32 = EmotionClassifier(name, precision="fp32").predict_proba(faces).argmax(1)
    p8 = EmotionClassifier(name, precision="int8").predict_proba(faces).argmax(1)
    agree = float((p32 == p8).mean())
    d_acc = float((p8 == labels).mean() - (p32 == labels).mean())
    print(f"\n{name}: INT8 vs FP32 on {len(labels)} PublicTest faces: agreement {agree:.3f}, "
          f"accuracy change {d_acc:+.3f}")
    assert agree >= 0.95 and abs(d_acc) <= 0.02
    assert np.unique(p8).size >= 6  # FER+ votes give few disgust faces: the fast model never says disgust here


def test_each_shipped_model_measures_its_own_choice(cache):
    from edgeemo.classifier import EmotionClassifier

    default = EmotionClassifier("default", threads=1)
    fast = EmotionClassifier("fast", threads=1)
    assert default.precision_choice.how == fast.precision_choice.how == "measured"
    assert fast.meta.model == "fastnet" and default.meta.model == "deepnet"
    assert fast.precision_choice.path in (str(SHIPPED["fast"].fp32), str(SHIPPED["fast"].int8))
    assert len(json.loads(cache.read_text())) == 2
