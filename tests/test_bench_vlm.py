"""Vision-LLM rows in ``edgeemo bench``: a real llama.cpp run of the tiny GGUF pair beside a trained
model, and an API row over real HTTP (a scripted OpenAI-compatible server on 127.0.0.1) whose
answers are known, so its accuracy, cost and cache behaviour can be checked exactly."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_faces
from vlm_fixtures.fixtures import tiny_pair  # noqa: F401  (fixture)
from vlm_fixtures.servers import ScriptedProxy, completion

from edgeemo.bench.vlm_options import parse_vlm_spec, vlm_options
from edgeemo.cli import main
from edgeemo.errors import EdgeemoError
from edgeemo.labels import CLASSES

QUICK = ["--warmup", "1", "--min-runs", "5", "--min-seconds", "0.05", "--throughput-seconds", "0.05",
         "--throughput-batch", "4", "--no-plot"]


@pytest.fixture(scope="module")
def faces_npz(tmp_path_factory) -> tuple[Path, np.ndarray]:
    images, labels = synthetic_faces(12, seed=3)
    path = tmp_path_factory.mktemp("faces") / "faces.npz"
    np.savez(path, images=images, labels=labels)
    return path, labels


def test_vlm_specs_and_options():
    s = parse_vlm_spec("llava:/m/llava-v1.5-7b-Q4_K_M.gguf:/m/mmproj-f16.gguf")
    assert (s.backend, s.model, s.mmproj, s.label) == ("llava", "/m/llava-v1.5-7b-Q4_K_M.gguf", "/m/mmproj-f16.gguf",
                                                       "llava-v1.5-7b-Q4_K_M")
    assert parse_vlm_spec("openai:gpt-4o").label == "gpt-4o"
    for bad in ("llava:/m/model.gguf", "openai:", "gpt-4o"):
        with pytest.raises(EdgeemoError, match="--vlm"):
            parse_vlm_spec(bad)
    # the profile's [vlm] table first, --vlm-opt over it; options of the other backend are not this row's
    opts = vlm_options(s, {"n_gpu_layers": -1, "threads": 4, "base_url": "http://x"}, ["threads=2", "max_cost=1"])
    assert opts == {"n_gpu_layers": -1, "threads": 2}
    api = vlm_options(parse_vlm_spec("openai:gpt-4o"), {"n_gpu_layers": -1}, ["max-cost=2.5", "batch_size=10"])
    assert api == {"max_cost": 2.5, "batch_size": 10}
    with pytest.raises(EdgeemoError, match="unknown option"):
        vlm_options(s, {}, ["n_layers=3"])
    with pytest.raises(EdgeemoError, match="threads must be an integer"):
        vlm_options(s, {}, ["threads=two"])
    with pytest.raises(EdgeemoError, match="KEY=VALUE"):
        vlm_options(s, {}, ["threads"])


def test_profile_vlm_table_is_checked(tmp_path):
    from edgeemo.bench.profiles import ProfileError, load_profile, read_profile_file

    assert load_profile("jetson").vlm["n_gpu_layers"] == -1
    p = tmp_path / "board.toml"
    p.write_text('[vlm]\nn_gpu_layer = 1\n[[targets]]\nbackend = "onnxruntime"\n')
    with pytest.raises(ProfileError, match=r"board.toml: unknown \[vlm\] key\(s\) n_gpu_layer"):
        read_profile_file(p)


@pytest.mark.slow
def test_llava_row_beside_a_trained_model(tiny_pair, faces_npz, tmp_path):  # noqa: F811
    model, mmproj = tiny_pair
    data, labels = faces_npz
    out = tmp_path / "bench"
    r = CliRunner().invoke(main, [
        "bench", "--device", "cpu", "--model", "default", "--backend", "onnxruntime", "--precision", "fp32",
        "--data", str(data), "--split", "all", "--vlm", f"llava:{model}:{mmproj}", "--vlm-limit", "5",
        "--vlm", f"llava:{tmp_path / 'absent.gguf'}:{mmproj}", "--export-dir", str(tmp_path / "export"),
        "--out", str(out), *QUICK])
    assert r.exit_code == 0, r.output
    res = json.loads(out.with_suffix(".json").read_text())
    cnn, vlm, absent = res["records"]
    assert cnn["status"] == "ok" and cnn["n"] == len(labels)
    assert vlm["status"] == "ok", vlm.get("reason")
    assert vlm["backend"] == "llama.cpp" and vlm["model"] == model.stem and vlm["kind"] == "vision LLM, zero-shot"
    assert vlm["n"] == 5 and vlm["invalid_rate"] == 0.0  # grammar-constrained: always a label
    assert vlm["model_calls"] == 5 and vlm["cache_hits"] == 0  # a bench row always asks the model
    assert 0.0 <= vlm["accuracy"] <= 1.0 and vlm["precision"]  # the GGUF's weight type, read from the file
    lat = vlm["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] and lat["mean"] > 0
    assert vlm["cold_start_ms"] > vlm["load_ms"] > 0 and vlm["peak_rss_mb"] > 0
    assert vlm["size_mb"] == pytest.approx((model.stat().st_size + mmproj.stat().st_size) / 1e6, rel=1e-3)
    assert res["metadata"]["data"]["vlm_n"] == 5
    assert absent["status"] == "failed" and "absent.gguf" in absent["reason"]  # stays in the table
    md = out.with_suffix(".md").read_text()
    assert "Vision LLMs, zero-shot" in md and f"| {model.stem} | llama.cpp | 5 |" in md
    rows = list(csv.DictReader(io.StringIO(out.with_suffix(".csv").read_text())))
    assert rows[1]["invalid_rate"] == "0.0" and rows[1]["kind"] == "vision LLM, zero-shot"


def _answer_all(label: str):
    """A scripted reply naming ``label`` for every image in the request."""
    def reply(body: dict) -> dict:
        n = sum(p.get("type") == "image_url" for p in body["messages"][-1]["content"])
        return completion(json.dumps({f"image_{i + 1}": label for i in range(n)}))
    return reply


@pytest.mark.skipif(not __import__("importlib").util.find_spec("openai"), reason="openai is not installed")
def test_api_row_accuracy_cost_and_cache(faces_npz, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data, labels = faces_npz
    cache = tmp_path / "cache.sqlite"
    args = ["bench", "--device", "cpu", "--model", "none", "--data", str(data), "--split", "all",
            "--vlm", "openai:scripted-vlm", "--vlm-opt", "batch_size=4", "--vlm-opt", "concurrency=1",
            "--vlm-opt", "price_in=1", "--vlm-opt", "price_out=2", "--vlm-cache", str(cache), *QUICK]
    with ScriptedProxy(None, [_answer_all("happy")] * 3) as proxy:
        out = tmp_path / "first"
        r = CliRunner().invoke(main, [*args, "--vlm-opt", f"base_url={proxy.url}", "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert len(proxy.requests) == 3  # 12 faces, 4 per request
    (rec,) = json.loads(out.with_suffix(".json").read_text())["records"]
    assert rec["status"] == "ok" and rec["backend"] == "openai-api" and rec["device"] == "cloud"
    assert rec["accuracy"] == pytest.approx(np.mean(labels == CLASSES.index("happy")), abs=1e-4)
    # three responses of 100 prompt and 10 completion tokens at $1 / $2 per million
    assert rec["cost_usd"] == pytest.approx(3 * (100 * 1 + 10 * 2) / 1e6)
    assert rec["model_calls"] == 3 and rec["cache_hits"] == 0 and rec["latency_ms"]["p50"] > 0
    # the second run reads every answer from the cache: no request reaches the server
    with ScriptedProxy(None, []) as proxy:
        out2 = tmp_path / "second"
        r = CliRunner().invoke(main, [*args, "--vlm-opt", f"base_url={proxy.url}", "--out", str(out2)])
        assert r.exit_code == 0, r.output
        assert proxy.requests == []
    (rec2,) = json.loads(out2.with_suffix(".json").read_text())["records"]
    assert rec2["model_calls"] == 0 and rec2["cache_hits"] == len(labels) and rec2["accuracy"] == rec["accuracy"]
    assert re.search(r"12 of 12 answers came from the response cache", out2.with_suffix(".md").read_text())


def test_vlm_rows_need_labelled_faces_and_stay_local(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--device", "cpu", "--model", "none", "--vlm", "openai:gpt-4o",
                                  "--out", str(tmp_path / "b"), *QUICK])
    assert r.exit_code == 1 and "no row was measured" in r.stderr, r.output  # nothing measured is not a success
    (rec,) = json.loads((tmp_path / "b.json").read_text())["records"]
    assert rec["status"] == "skipped" and "--data" in rec["reason"]
    r = CliRunner().invoke(main, ["bench", "--device", "jetson", "--host", "user@board", "--vlm", "openai:gpt-4o"])
    assert r.exit_code != 0 and "run on this machine only" in r.output
