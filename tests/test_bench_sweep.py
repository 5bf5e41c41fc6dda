"""A real, small bench sweep: the shipped model over onnxruntime and OpenVINO at FP32 and INT8 on
FER2013 faces, each row in its own process, all four outputs; a row that cannot run keeps its
place; the accuracy gate; Ctrl-C keeps the finished rows."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgeemo.cli import main
from edgeemo.evaluate import evaluate
from edgeemo.model_files import DEFAULT_MODEL

TEST_MODEL_ENV = "EDGEEMO_TEST_MODEL"
FAST = ["--warmup", "2", "--min-runs", "10", "--min-seconds", "0.05", "--throughput-batch", "8",
        "--throughput-seconds", "0.05", "--budget", "1.0"]
LAT_KEYS = {"mean", "std", "p50", "p90", "p95", "p99"}
RECORD_KEYS = {"model", "backend", "precision", "status", "accuracy", "macro_f1", "n", "latency_ms",
               "throughput_fps", "cold_start_ms", "peak_rss_mb", "size_mb"}

PROFILE = """
name = "testbox"
description = "onnxruntime and OpenVINO on the CPU, plus a TensorRT row that cannot run here"
threads = 1
[[targets]]
backend = "onnxruntime"
precisions = ["fp32", "int8"]
[[targets]]
backend = "openvino"
precisions = ["fp32", "int8"]
[[targets]]
backend = "tensorrt"
precisions = ["fp16"]
"""


@pytest.fixture(scope="session")
def bench_model() -> Path:
    """The shipped default model (an FP32 .onnx in $EDGEEMO_TEST_MODEL stands in where it is absent)."""
    if DEFAULT_MODEL.exists():
        return DEFAULT_MODEL
    alt = os.environ.get(TEST_MODEL_ENV)
    if alt and Path(alt).exists():
        return Path(alt)
    pytest.skip(f"{DEFAULT_MODEL} is missing (or set {TEST_MODEL_ENV} to an FP32 edgeemo .onnx)")


@pytest.fixture(scope="module")
def small_fer(fer_npz, tmp_path_factory) -> Path:
    """200 PrivateTest faces to score, with small Training/PublicTest samples for INT8 calibration."""
    from edgeemo.bench.faces import write_subset

    path = tmp_path_factory.mktemp("faces") / "fer_small.npz"
    write_subset(fer_npz, "PrivateTest", 200, path, n_calib=256, n_val=150)
    return path


@pytest.fixture(scope="module")
def sweep(bench_model, small_fer, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    profile = tmp / "testbox.toml"
    profile.write_text(PROFILE)
    models = [str(bench_model)]
    out = tmp / "results" / "bench_testbox"
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, ["bench", "--device", str(profile), "--model", ",".join(models),
                                    "--data", str(small_fer), "--limit", "200", "--export-dir", str(tmp / "export"),
                                    "--out", str(out), "--min-accuracy", "0.0", *FAST])
    return {"res": res, "out": out, "tmp": tmp, "profile": profile, "models": models, "faces": small_fer,
            "seconds": time.perf_counter() - t0}


def test_sweep_writes_json_csv_markdown_and_plot(sweep):
    res, out = sweep["res"], sweep["out"]
    assert res.exit_code == 0, res.output
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["schema_version"] == 1
    meta = data["metadata"]
    for key in ("date", "edgeemo_version", "git_sha", "host", "cpu", "threads", "os", "python", "backends",
                "device_profile", "method", "data"):
        assert key in meta, key
    assert meta["cpu"]["model"] and isinstance(meta["cpu"]["flags"], list)
    assert meta["backends"]["onnxruntime"] and meta["backends"]["openvino"]
    assert meta["device_profile"]["name"] == "testbox" and meta["data"]["n"] == 200
    recs = data["records"]
    for r in recs:
        assert RECORD_KEYS <= set(r), RECORD_KEYS - set(r)
    ok = [r for r in recs if r["status"] == "ok"]
    assert {(r["backend"], r["precision"]) for r in ok} == {
        ("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("openvino", "fp32"), ("openvino", "int8")}
    # the same model on the same 200 faces as 'edgeemo eval': FP32 scores exactly what eval scores
    ref = evaluate(sweep["models"][0], sweep["faces"], split="PrivateTest", limit=200)
    for r in ok:
        assert r["n"] == 200
        assert set(r["latency_ms"]) >= LAT_KEYS and r["latency_ms"]["p50"] > 0 and r["latency_runs"] >= 10
        assert r["latency_ms"]["p50"] <= r["latency_ms"]["p90"] <= r["latency_ms"]["p99"]
        assert r["throughput_fps"] > 0 and r["throughput_batch"] == 8
        assert r["cold_start_ms"] >= r["load_ms"] > 0
        assert r["peak_rss_mb"] > 0 and r["size_mb"] > 0
    fp32 = {r["backend"]: r for r in ok if r["precision"] == "fp32"}
    int8 = {r["backend"]: r for r in ok if r["precision"] == "int8"}
    assert int8["onnxruntime"]["size_mb"] < fp32["onnxruntime"]["size_mb"]
    assert fp32["onnxruntime"]["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-4)
    assert fp32["onnxruntime"]["macro_f1"] == pytest.approx(ref["macro_f1"], abs=1e-4)
    assert abs(fp32["onnxruntime"]["accuracy"] - fp32["openvino"]["accuracy"]) < 0.02  # same FP32 model
    for backend, r in int8.items():  # INT8 agrees with FP32 on at least 97% of faces (test_export), so:
        assert abs(r["accuracy"] - fp32["onnxruntime"]["accuracy"]) <= 0.03, backend

    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == len(recs) and "latency_p50_ms" in rows[0] and "peak_rss_mb" in rows[0]
    md = out.with_suffix(".md").read_text()
    assert md.count("\n| ") >= len(recs) + 1 and "p50 ms" in md
    png = out.with_suffix(".png")
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rows_that_cannot_run_stay_with_a_reason(sweep):
    recs = json.loads(sweep["out"].with_suffix(".json").read_text())["records"]
    trt = [r for r in recs if r["backend"] == "tensorrt"]
    assert len(trt) == 1 and trt[0]["status"] == "failed" and "TensorRT" in trt[0]["reason"]
    assert "failed" in sweep["res"].output and "TensorRT" in sweep["res"].output


def test_second_run_reuses_artifacts_and_the_accuracy_gate_fails(sweep, small_fer):
    res = CliRunner().invoke(main, ["bench", "--device", str(sweep["profile"]), "--model", sweep["models"][0],
                                    "--backend", "onnxruntime", "--precision", "fp32", "--data", str(small_fer),
                                    "--export-dir", str(sweep["tmp"] / "export"), "--out", str(sweep["tmp"] / "gate"),
                                    "--min-accuracy", "0.99", "--no-plot", *FAST])
    assert res.exit_code == 1, res.output
    assert "reusing" in res.output and "exported" not in res.output
    assert "accuracy gate failed: 1 row(s) below 0.99" in res.output
    assert (sweep["tmp"] / "gate.json").exists() and not (sweep["tmp"] / "gate.png").exists()


def test_without_data_it_measures_speed_and_says_how_to_get_accuracy(sweep):
    res = CliRunner().invoke(main, ["bench", "--device", str(sweep["profile"]), "--model", sweep["models"][0],
                                    "--backend", "openvino", "--export-dir", str(sweep["tmp"] / "export"),
                                    "--out", str(sweep["tmp"] / "nodata"), *FAST])
    assert res.exit_code == 0, res.output
    assert "accuracy needs labelled faces" in res.output and "--data" in res.output
    recs = json.loads((sweep["tmp"] / "nodata.json").read_text())["records"]
    by_prec = {r["precision"]: r for r in recs}
    assert by_prec["fp32"]["status"] == "ok" and by_prec["fp32"]["accuracy"] is None
    assert by_prec["fp32"]["latency_ms"]["p50"] > 0
    assert by_prec["int8"]["status"] == "ok"  # INT8 built by the first run is reused


def test_ctrl_c_keeps_the_rows_already_measured(sweep, small_fer):
    out = sweep["tmp"] / "interrupted"
    cmd = [sys.executable, "-m", "edgeemo.cli", "bench", "--device", str(sweep["profile"]), "--model",
           sweep["models"][0], "--backend", "onnxruntime,openvino", "--data", str(small_fer),
           "--export-dir", str(sweep["tmp"] / "export"), "--out", str(out), *FAST, "--min-seconds", "3"]
    # SIGINT as a terminal's Ctrl-C sends it (reset to the default in case this runner ignores it)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                if json.loads(out.with_suffix(".json").read_text())["records"]:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, output
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["metadata"]["interrupted"] is True
    statuses = [r["status"] for r in data["records"]]
    assert statuses[0] == "ok" and "not run" in statuses and len(statuses) == 4
    assert out.with_suffix(".md").exists() and "Interrupted" in out.with_suffix(".md").read_text()


def test_artifacts_are_reused_only_while_the_source_is_unchanged(bench_model, tmp_path):
    import onnx

    from edgeemo.export.onnx_export import set_metadata
    from edgeemo.export.pipeline import export_artifacts
    from edgeemo.modelmeta import read_onnx_meta

    meta = read_onnx_meta(bench_model)
    export, logs = tmp_path / "export", []
    got = export_artifacts(bench_model, [("onnx", "fp32")], export_dir=export, log=logs.append)
    hub = Path(got[("onnx", "fp32")].path)
    # keyed by the source's weights: export/NAME/KEY/
    assert hub.parent == export / meta.model / meta.source_sha256[:12] and not any("reusing" in ln for ln in logs)
    logs.clear()
    export_artifacts(bench_model, [("onnx", "fp32")], export_dir=export, log=logs.append)
    assert logs == [f"reusing 1 artifact(s) in {hub.parent}"]
    # INT8 without faces is skipped, not failed, and says what to pass
    got = export_artifacts(bench_model, [("onnx", "int8")], export_dir=export, log=logs.append)
    assert got[("onnx", "int8")].status == "skipped" and "--data" in got[("onnx", "int8")].reason
    # --rebuild builds again even though everything is in place
    logs.clear()
    export_artifacts(bench_model, [("onnx", "fp32")], export_dir=export, rebuild=True, log=logs.append)
    assert not any(line.startswith("reusing") for line in logs)
    # a file changed behind the cache's back is not trusted
    hub.write_bytes(hub.read_bytes() + b"\0")
    logs.clear()
    export_artifacts(bench_model, [("onnx", "fp32")], export_dir=export, log=logs.append)
    assert not any(line.startswith("reusing") for line in logs) and read_onnx_meta(hub).model == meta.model
    # other weights get their own folder, next to the first
    other = onnx.load(str(bench_model))
    set_metadata(other, type(meta)(**{**meta.__dict__, "source_sha256": "f" * 64}))
    onnx.save(other, str(tmp_path / "other.onnx"))
    got = export_artifacts(tmp_path / "other.onnx", [("onnx", "fp32")], export_dir=export, log=logs.append)
    assert Path(got[("onnx", "fp32")].path).parent == export / meta.model / ("f" * 12)
    assert hub.exists()


def test_untrained_registry_models_keep_a_row(tmp_path, monkeypatch):
    """A registry name with no checkpoint anywhere stays in the table as 'not trained', saying how to train it."""
    from edgeemo import model_files
    from edgeemo.bench.artifacts import resolve_sources

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGEEMO_MODELS", raising=False)
    monkeypatch.setattr(model_files, "REPO_WEIGHTS", tmp_path / "no-weights")  # as in an installed package
    cnn1, missing = resolve_sources(["cnn1", str(tmp_path / "gone.onnx")])
    assert cnn1.status == "not trained" and "edgeemo train --model cnn1" in cnn1.reason
    assert missing.status == "failed" and "gone.onnx" in missing.reason


def test_a_registry_name_without_weights_keeps_a_not_trained_row_in_every_output(bench_model, tmp_path, monkeypatch):
    """Every registry model has weights in the repository's benchmarks/weights; an installed edgeemo has no
    such folder, and with an empty $EDGEEMO_MODELS a registry name has no checkpoint anywhere. The bench
    keeps its row, 'not trained' and how to train it, beside a measured one, in the table and every file."""
    from edgeemo import model_files

    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("EDGEEMO_MODELS", str(empty))
    monkeypatch.setattr(model_files, "REPO_WEIGHTS", tmp_path / "site-packages" / "benchmarks" / "weights")
    out = tmp_path / "bench"
    res = CliRunner().invoke(main, ["bench", "--device", "cpu", "--model", f"cnn1,{bench_model}",
                                    "--backend", "onnxruntime", "--precision", "fp32",
                                    "--export-dir", str(tmp_path / "export"), "--out", str(out), "--no-plot", *FAST])
    assert res.exit_code == 0, res.output
    cnn1, measured = json.loads(out.with_suffix(".json").read_text())["records"]
    assert cnn1["model"] == "cnn1" and cnn1["status"] == "not trained" and cnn1["latency_ms"] is None
    assert "edgeemo train --model cnn1" in cnn1["reason"] and str(empty / "cnn1.pt") in cnn1["reason"]
    assert measured["status"] == "ok" and measured["latency_ms"]["p50"] > 0
    assert "cnn1" in res.output and "not trained" in res.output
    assert "| cnn1 | — | — | not trained: no trained 'cnn1' checkpoint" in out.with_suffix(".md").read_text()
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert [r["status"] for r in rows] == ["not trained", "ok"]


def test_the_build_plan_counts_what_is_missing_and_estimates_from_earlier_builds(bench_model, tmp_path):
    """A network built before on this machine is estimated from how long those builds took."""
    from edgeemo.bench.artifacts import plan_builds, resolve_sources
    from edgeemo.export.pipeline import export_artifacts

    export = tmp_path / "export"
    (src,) = resolve_sources([str(bench_model)])
    plan = plan_builds([src], [("onnx", "fp32"), ("onnx", "fp16")], export, data=None, budget=0.01, n_calib=512,
                       rebuild=False)
    assert plan.count == 2 and plan.describe().startswith("building 2 artifact(s) for 1 model(s)")
    got = export_artifacts(bench_model, [("onnx", "fp32"), ("onnx", "fp16")], export_dir=export, log=lambda s: None)
    plan = plan_builds([src], [("onnx", "fp32"), ("onnx", "fp16")], export, data=None, budget=0.01, n_calib=512,
                       rebuild=False)
    assert plan.count == 0 and plan.describe() == "every artifact is in the cache: nothing to build"
    # other weights of the same network: the estimate is what these builds took
    plan = plan_builds([src], [("onnx", "fp32"), ("onnx", "fp16")], export, data=None, budget=0.01, n_calib=512,
                       rebuild=True)
    took = sum(a.seconds for a in got.values())
    assert plan.count == 2 and plan.seconds == pytest.approx(took, abs=1e-6)
