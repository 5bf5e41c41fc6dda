"""Published vision-LLM answers (``vlm-eval --backend published``, ``bench --vlm published:FILE``):
small answers files and face sets written here, with every kind of row a stranger's file can hold;
then the real published GPT-4V answers on FER2013 where the data is present."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_faces

from edgeemo.cli import main
from edgeemo.errors import DataError
from edgeemo.labels import CLASSES, FERPLUS_CLASSES
from edgeemo.vlm.answers import match_answers, parse_ranked, read_answers
from edgeemo.vlm.published import evaluate_published

A, D, F, H, SA, SU, N = range(7)  # class indices, FER order
# face name, FER label, FER+ majority (FER+ order, -1 none), the answer list
FACES = [
    ("f0.png", H, 1, "HAPPINESS,neutral"),  # mixed case, synonym: right
    ("f1.png", A, 4, "Anger , sadness"),  # synonym with spaces: right
    ("f2.png", SU, 2, "surprised,fear"),  # synonym: right
    ("f3.png", N, 0, "contempt,neutral"),  # outside the classes: invalid, wrong; right at top-2
    ("f4.png", SA, 3, "pain"),  # unknown word: invalid, wrong
    ("f5.png", F, 6, ""),  # empty answer: invalid, wrong
    ("f6.png", D, 5, "disgust,anger"),  # right
    ("f7.png", N, -1, "sadness,neutral"),  # wrong; no FER+ majority; right at top-2
    ("f8.png", H, 1, None),  # no answer row: not scored, reported
    ("f9.png", SU, 2, "happy and sad"),  # two classes in one answer: invalid, never guessed
]


def _write_csv(path: Path, rows: list[list[str]], header=("name", "gt", "gpt4v")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture()
def face_set(tmp_path) -> Path:
    images, _ = synthetic_faces(len(FACES), seed=5)
    path = tmp_path / "faces.npz"
    np.savez(path, images=images, labels=np.array([f[1] for f in FACES], np.int8),
             split_id=np.full(len(FACES), 2, np.int8), ferplus_majority=np.array([f[2] for f in FACES], np.int8),
             ferplus_class_names=np.array(FERPLUS_CLASSES), ferplus_image_name=np.array([f[0] for f in FACES]))
    return path


@pytest.fixture()
def answers_csv(tmp_path) -> Path:
    rows = [[name, FERPLUS_CLASSES[fp] if fp >= 0 else "contempt", ans]
            for name, _, fp, ans in FACES if ans is not None]
    rows.append(["not-a-face.png", "neutral", "neutral"])  # an answer for a face the data lacks
    return _write_csv(tmp_path / "answers.csv", rows)


def test_ranked_answers_use_the_live_parser():
    assert parse_ranked("HAPPINESS,neutral", 2) == [(H, "ok"), (N, "ok")]
    assert parse_ranked(" Sadness ", 1) == [(SA, "ok")]
    assert parse_ranked("contempt,fear", 2) == [(-1, "invalid"), (F, "ok")]
    assert parse_ranked("", 3) == [(-1, "invalid")]
    assert parse_ranked("angry;sad", 2, separator=";") == [(A, "ok"), (SA, "ok")]


def test_top1_scores_mixed_case_synonyms_unknown_words_and_missing_rows(face_set, answers_csv):
    res = evaluate_published(answers_csv, face_set)
    assert res["matched"] == 9 and res["n"] == 9 and res["faces_in_split"] == 10
    assert res["faces_without_answer"] == 1 and res["faces_without_answer_first"] == ["f8.png"]
    assert res["answers_without_face"] == 1 and res["answers_without_face_first"] == ["not-a-face.png"]
    # right: f0, f1, f2, f6; invalid and wrong: f3 contempt, f4 pain, f5 empty, f9 two classes
    assert res["accuracy"] == pytest.approx(4 / 9)
    assert res["invalid_answers"] == 4 and res["invalid"] == 4
    assert res["answers_outside_classes"] == {"contempt": 1, "pain": 1, "(empty)": 1, "happy and sad": 1}
    assert res["labels"] == "fer2013" and res["backend"] == "published" and res["model"] == "answers"
    cm = np.array(res["confusion"])
    assert cm.sum() == 5 and cm[H, H] == 1 and cm[N, SA] == 1  # invalid answers appear in no column


def test_top_k_and_ferplus_labels(face_set, answers_csv):
    top2 = evaluate_published(answers_csv, face_set, top_k=2)
    assert top2["accuracy"] == pytest.approx(6 / 9)  # f3 and f7 right at their second answer
    fp = evaluate_published(answers_csv, face_set, labels="ferplus", name="GPT-4V")
    # f7 has no FER+ majority: its answer is reported, not scored; f9's FER+ label is surprise
    assert fp["n"] == 8 and fp["answers_for_unlabelled_faces"] == 1 and fp["answers_without_face"] == 1
    assert fp["labels"] == "ferplus" and "FER+" in fp["labels_description"] and fp["model"] == "GPT-4V"
    assert fp["accuracy"] == pytest.approx(4 / 8)


def test_labels_from_the_answers_file(face_set, answers_csv):
    res = evaluate_published(answers_csv, face_set, labels="answers")
    agree = res["file_label_agreement"]  # every row with an answer, contempt included, as the file's authors scored
    assert agree["rows"] == 9 and "contempt" in agree["classes"]
    # first answer equals the file's label: f0, f1, f2, f6 (f7: gt contempt, answer sadness)
    assert agree["first_answer_matches"] == 4
    assert res["left_out_by_file_label"] == {"label 'contempt' is outside the 7 classes": 1}
    assert res["n"] == 8


def test_side_by_side_with_a_trained_model(face_set, answers_csv):
    from edgeemo.classifier import EmotionClassifier
    from edgeemo.data import load_dataset

    res = evaluate_published(answers_csv, face_set, against="default")
    sbs = res["side_by_side"]
    fs = load_dataset(face_set)
    keep = np.array([f[3] is not None for f in FACES])
    model_pred = EmotionClassifier("default").predict_proba(fs.images[keep]).argmax(1)
    y = fs.labels[keep]
    assert sbs["n"] == 9 and sbs["reference"] == "answers"
    assert sbs["metrics"][sbs["other"]]["accuracy"] == pytest.approx(float((model_pred == y).mean()))
    ans_right = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0], bool)
    assert sbs["discordant"] == {"ref_only": int((ans_right & (model_pred != y)).sum()),
                                 "new_only": int((~ans_right & (model_pred == y)).sum())}
    assert 0.0 <= sbs["mcnemar_p"] <= 1.0 and 0.0 <= sbs["agreement_top1"] <= 1.0
    assert set(sbs["metrics"]["answers"]["per_class_f1"]) == set(CLASSES)


def test_other_layouts_and_repeated_rows(tmp_path, face_set):
    rows = [["f0.png", "happy | sad"], ["f1.png", "angry"], ["f1.png", "angry"],  # repeated, same answer
            ["f2.png", "fear"], ["f2.png", "surprise"],  # repeated with another answer: left unanswered
            ["f3.png", "neutral", "extra field"], ["", "sad"]]
    path = _write_csv(tmp_path / "other.csv", rows, header=("File", "Prediction"))
    with pytest.raises(DataError, match="--key-column"):
        read_answers(path)
    af = read_answers(path, key_column="file", answer_column="prediction")  # case-insensitive column names
    assert af.skipped == {"repeated name": 2, "row with 3 fields instead of 2": 1, "row without a name": 1,
                          "name repeated with a different answer (face left unanswered)": 1}
    from edgeemo.data import load_dataset

    m = match_answers(af, load_dataset(face_set), separator="|")
    assert m.info["matched"] == 2 and m.pred.tolist() == [H, A]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"name,gt,gpt4v\n", "no usable answer rows"),
    (b"name,gt,answer\nf0.png,happy,happy\n", "--answer-column"),
    (b"name,gt,gpt4v\nf0.png,happy,\x00happy\n", "not a readable CSV"),
    (b"name,gt,gpt4v\nf0.png,happy,\xff\xfe\n", "not UTF-8"),
    (b"name,gt,gpt4v\nf0.png,happy,\"" + b"happy," * 5000 + b"\"\n", "not a readable CSV"),
])
def test_malformed_answer_files_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_answers(path)


def test_an_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    import edgeemo.vlm.answers as answers_mod

    path = _write_csv(tmp_path / "big.csv", [["f0.png", "happy", "happy"]] * 50)
    monkeypatch.setattr(answers_mod, "MAX_BYTES", 100)
    with pytest.raises(DataError, match="far larger than an answers file"):
        read_answers(path)


def test_answers_naming_no_face_is_an_error_that_says_what_to_check(tmp_path, face_set):
    path = _write_csv(tmp_path / "x.csv", [["Training_1.jpg", "happy", "happy"]])
    with pytest.raises(DataError, match="no row names a face.*--key-column"):
        evaluate_published(path, face_set)


def test_cli_writes_json_and_reports_labels(tmp_path, face_set, answers_csv):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["vlm-eval", "--backend", "published", "--answers", str(answers_csv), "--data",
                                    str(face_set), "--labels", "ferplus", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "FER+ majority labels" in res.output and "faces without an answer" in res.output
    saved = json.loads(out.read_text())
    assert saved["labels"] == "ferplus" and saved["n"] == 8 and out.with_suffix(".png").exists()
    bad = CliRunner().invoke(main, ["vlm-eval", "--backend", "published", "--data", str(face_set)])
    assert bad.exit_code == 2 and "needs --answers" in bad.output
    miss = CliRunner().invoke(main, ["vlm-eval", "--backend", "openai", "--data", str(face_set)])
    assert miss.exit_code == 2 and "needs --model" in miss.output


def test_bench_row_scores_the_same_faces(tmp_path, face_set, answers_csv):
    from edgeemo.bench.faces import save_faces
    from edgeemo.bench.report import plot_pareto
    from edgeemo.bench.vlm_options import parse_vlm_spec, with_options
    from edgeemo.bench.vlm_rows import run_vlm_row

    info = save_faces(face_set, "auto", None, tmp_path / "bench" / "faces.npz", labels="ferplus")
    assert info["labels"] == "ferplus" and info["n"] == 9
    spec = with_options(parse_vlm_spec(f"published:{answers_csv}"), {}, ["name=GPT-4V", "top_k=1"])
    rec = run_vlm_row(spec, info["faces"], cache=None, refresh=False, timeout_s=30)
    direct = evaluate_published(answers_csv, face_set, labels="ferplus")
    assert rec["status"] == "ok" and rec["model"] == "GPT-4V" and rec["backend"] == "published answers"
    assert (rec["n"], rec["accuracy"], rec["macro_f1"]) == (direct["n"], direct["accuracy"], direct["macro_f1"])
    assert rec["latency_ms"] is None and "no latency" in rec["note"]
    missing = run_vlm_row(parse_vlm_spec(f"published:{tmp_path / 'none.csv'}"), info["faces"], cache=None,
                          refresh=False, timeout_s=30)
    assert missing["status"] == "failed" and "no such answers file" in missing["reason"]
    pytest.importorskip("matplotlib")
    timed = {**rec, "model": "m", "backend": "onnxruntime", "precision": "fp32", "accuracy": 0.5,
             "latency_ms": {"p50": 1.0}}
    result = {"records": [timed, rec], "metadata": {"threads": 1, "device_profile": {"name": "cpu"},
                                                    "cpu": {"model": "x"}, "data": info}}
    assert plot_pareto(result, tmp_path / "p.png") is None and (tmp_path / "p.png").stat().st_size > 0


def test_eval_with_ferplus_labels(face_set):
    from edgeemo.evaluate import evaluate

    fer, fp = evaluate("default", face_set), evaluate("default", face_set, labels="ferplus")
    assert (fer["n"], fp["n"]) == (10, 9) and (fer["labels"], fp["labels"]) == ("fer2013", "ferplus")
    assert fp["dropped"] == {"class outside the 7 FER2013 classes (e.g. contempt)": 1}


def test_ferplus_labels_need_ferplus_votes(tmp_path):
    from edgeemo.data import load_dataset

    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n3," + " ".join(["0"] * 2304) + ",PrivateTest\n")
    with pytest.raises(DataError, match="FER\\+ labels come from an .npz"):
        load_dataset(path, labels="ferplus")


def test_published_gpt4v_answers_on_fer2013(fer_npz):
    """The real file: GPT-4V's published answers on FER+ PrivateTest, and the authors' own figure."""
    answers = fer_npz.parent / "gpt4v-emotion" / "ferplus_label-gpt4v.csv"
    if not answers.exists():
        pytest.skip(f"{answers} is missing (the published answers of Lian et al. 2024)")
    fer = evaluate_published(answers, fer_npz)
    assert fer["answer_rows"] == 3572 and fer["matched"] == 3572 and fer["answers_without_face"] == 0
    assert fer["n"] == 3572 and fer["faces_without_answer"] == 1
    own = evaluate_published(answers, fer_npz, labels="answers")
    agree = own["file_label_agreement"]
    assert agree["rows"] == 3572 and round(100 * agree["rate"], 2) == 64.25  # Lian et al.'s published figure
    fp = evaluate_published(answers, fer_npz, labels="ferplus")
    assert fp["n"] + fp["answers_for_unlabelled_faces"] == 3572


def test_compare_with_ferplus_labels(face_set):
    from edgeemo.compare import compare, to_markdown
    from edgeemo.export.pipeline import Artifact
    from edgeemo.model_files import DEFAULT_MODEL

    art = Artifact("onnx", "fp32", str(DEFAULT_MODEL), size_mb=DEFAULT_MODEL.stat().st_size / 1e6)
    res = compare("default", face_set, labels="ferplus", artifacts=[art], min_runs=3, min_seconds=0.01,
                  log=lambda *_: None)
    assert res["labels"] == "ferplus" and res["n"] == 9
    assert all(r["n"] == 9 for r in res["records"])
    assert "FER+ majority labels" in to_markdown(res)
