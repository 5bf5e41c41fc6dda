"""The OpenAI path over real HTTP with the real ``openai`` client: llama-cpp-python's own
OpenAI-compatible server serves the tiny GGUF pair on 127.0.0.1, and a scripted stdlib proxy in
front of it answers 429/500 or stalls (``test_vlm_api.py`` covers answers that are not labels)."""

from __future__ import annotations

import json

import pytest
from vlm_fixtures.fixtures import need_llama_cpp, tiny_pair  # noqa: F401  (fixture)

from edgeemo.errors import EdgeemoError

need_llama_cpp()
pytest.importorskip("openai", reason="openai is not installed: pip install 'edgeemo[openai]'")
pytest.importorskip("uvicorn", reason="llama-cpp-python's server extra is not installed: "
                                      "pip install 'llama-cpp-python[server]'")

from vlm_fixtures.servers import ScriptedProxy, start_llama_server  # noqa: E402

from edgeemo.vlm.run import vlm_evaluate  # noqa: E402

pytestmark = pytest.mark.slow
FAST = dict(backoff=0.01, backoff_max=0.05, response_format="json_object")


@pytest.fixture(scope="module")
def server(tiny_pair, tmp_path_factory):  # noqa: F811
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with start_llama_server(*tiny_pair, log=log) as url:
        yield url


def run(data, url, tmp_path, **kw):
    opts = dict(limit=4, batch_size=2, concurrency=1, cache=tmp_path / "cache.sqlite", timeout=60, **FAST)
    opts.update(kw)
    return vlm_evaluate("openai", "tiny-llava", data, base_url=url, **opts)


def test_through_local_server_then_cache(server, fer_npz, tmp_path):
    res = run(fer_npz, server, tmp_path, limit=6, batch_size=3, concurrency=2)
    assert res["n"] == 6 and res["backend"] == "openai"
    assert res["invalid_rate"] == 0.0 and res["refusal_rate"] == 0.0  # schema-constrained JSON
    assert res["model_calls"] >= 2 and res["tokens"]["prompt"] > 0 and res["tokens"]["completion"] > 0
    assert res["latency"]["p50"] > 0  # ms, as every latency table
    assert res["cost_usd"] is None and res["price"] is None  # a local model has no list price
    again = run(fer_npz, server, tmp_path, limit=6, batch_size=3, concurrency=2)
    assert again["model_calls"] == 0 and again["cache_hits"] == 6
    assert again["confusion"] == res["confusion"]


def test_retries_in_front_of_the_real_server(server, fer_npz, tmp_path):
    with ScriptedProxy(server, [("status", 429), ("status", 500)]) as proxy:
        res = run(fer_npz, proxy.url, tmp_path, limit=2)
        assert len(proxy.requests) == 3
    assert res["invalid_rate"] == 0.0 and res["model_calls"] == 3 and res["retries"] == 2


def test_gives_up_then_resumes_where_it_stopped(server, fer_npz, tmp_path):
    # Two good batches, then the endpoint fails for good: the run stops, the answers it got are kept.
    with ScriptedProxy(server, ["proxy", "proxy"] + [("status", 503)] * 3) as proxy:
        with pytest.raises(EdgeemoError, match="gave up after 3 attempts"):
            run(fer_npz, proxy.url, tmp_path, limit=6, retries=2)
    with ScriptedProxy(server) as proxy:
        res = run(fer_npz, proxy.url, tmp_path, limit=6)
        assert len(proxy.requests) == 1
    assert res["cache_hits"] == 4 and res["model_calls"] == 1 and res["n"] == 6


def test_api_key_is_sent_but_never_stored(server, fer_npz, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edgeemo.cli import main

    canary = "sk-edgeemo-canary-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    out, cache = tmp_path / "api.json", tmp_path / "cache.sqlite"
    with ScriptedProxy(server) as proxy:
        r = CliRunner().invoke(main, [
            "vlm-eval", "--backend", "openai", "--model", "gpt-4o", "--base-url", proxy.url, "--data", str(fer_npz),
            "--limit", "2", "--batch-size", "2", "--response-format", "json_object", "--cache", str(cache),
            "--json", str(out)])
        seen = proxy.headers
    assert r.exit_code == 0, r.output
    assert any(h.get("authorization") == f"Bearer {canary}" for h in seen)  # it did reach the endpoint
    res = json.loads(out.read_text())
    assert res["cost_usd"] > 0 and res["price"]["usd_per_1m_in"] == 2.5  # gpt-4o list price
    for path in tmp_path.iterdir():
        assert canary.encode() not in path.read_bytes(), path.name
    assert canary not in r.output


def test_batch_api_job(server, fer_npz, tmp_path):
    with ScriptedProxy(server) as proxy:
        res = run(fer_npz, proxy.url, tmp_path, limit=4, batch_size=2, batch_api=True, batch_poll_s=0.2)
        assert len(proxy.batches) == 1 and len(proxy.requests) == 2
    assert res["batch_api"] is True and res["n"] == 4 and res["invalid_rate"] == 0.0
    again = run(fer_npz, server, tmp_path, limit=4, batch_size=2, batch_api=True)
    assert again["model_calls"] == 0
