"""The API client's behaviour over real HTTP with the real ``openai`` client, against a scripted
stdlib server on 127.0.0.1 (no model needed): answers that are not labels, refusals, batch
splitting, bounded concurrency and the ``--max-cost`` hard stop."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from vlm_fixtures.servers import ScriptedProxy, completion

from edgeemo.errors import EdgeemoError
from edgeemo.labels import CLASSES

pytest.importorskip("openai", reason="openai is not installed: pip install 'edgeemo[openai]'")

from edgeemo.vlm.run import vlm_evaluate  # noqa: E402

FAST = dict(backoff=0.01, backoff_max=0.05, timeout=30)


@pytest.fixture(scope="module")
def faces():
    """Generated stand-ins: these tests script the answers, so the pixels do not matter."""
    from conftest import synthetic_faces

    from edgeemo.data import FaceSet

    images, labels = synthetic_faces(8)
    return FaceSet(images, labels, np.full(len(labels), -1), "synthetic")


def run(data, url, tmp_path, **kw):
    opts = dict(limit=4, batch_size=2, concurrency=1, cache=tmp_path / "cache.sqlite", **FAST)
    opts.update(kw)
    return vlm_evaluate("openai", "tiny-llava", data, base_url=url, **opts)


def test_answers_that_are_not_labels_and_refusals(faces, tmp_path):
    steps = [
        ("answer", '{"image_1": "happy"}'),  # one answer for two faces: split the batch
        ("answer", '{"image_1": "confused"}'),  # not a label
        ("refusal", "I can't help with identifying people's emotions."),  # structured-output refusal
        ("answer", '{"image_1": "sad", "image_2": "angry"}'),
        ("answer", "I'm sorry, but I cannot determine emotions from faces."),  # refusal in words
    ]
    with ScriptedProxy(None, steps) as proxy:
        res = run(faces, proxy.url, tmp_path, limit=5, batch_size=2, response_format="json_schema")
        sent = proxy.requests
    assert res["batch_splits"] == 1 and res["model_calls"] == 5
    assert res["invalid_answers"] == 1 and res["refusals"] == 2
    assert res["invalid_rate"] == pytest.approx(0.2) and res["refusal_rate"] == pytest.approx(0.4)
    assert res["invalid"] == 3  # metrics count every one of them as wrong
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["image_2"]["enum"][0] == "angry"
    assert sum(p["type"] == "image_url" for p in sent[0]["messages"][-1]["content"]) == 2


def test_retries_429_500_and_a_stalled_request(faces, tmp_path):
    steps = [("status", 429), ("status", 500), ("stall", 2.0), _neutral]
    with ScriptedProxy(None, steps) as proxy:
        res = run(faces, proxy.url, tmp_path, limit=2, timeout=0.5)
        assert len(proxy.requests) == 4
    # every answer is "neutral": accuracy is neutral's share of the two faces
    assert res["invalid_rate"] == 0.0
    assert res["accuracy"] == pytest.approx(np.mean(faces.labels[:2] == CLASSES.index("neutral")))
    assert res["model_calls"] == 4 and res["retries"] == 3
    assert res["errors"] == {"RateLimitError": 1, "InternalServerError": 1, "timeout": 1}


def test_exponential_backoff_then_give_up(faces, tmp_path):
    t0 = time.monotonic()
    with ScriptedProxy(None, [("status", 503, None)] * 4) as proxy:  # no Retry-After: edgeemo's own schedule
        with pytest.raises(EdgeemoError, match="gave up after 4 attempts"):
            run(faces, proxy.url, tmp_path, limit=2, retries=3, backoff=0.2, backoff_max=5.0)
        assert len(proxy.requests) == 4
    # waits of 0.2, 0.4 and 0.8 s, each with jitter down to half
    assert time.monotonic() - t0 >= 0.7


def test_a_failure_says_whether_the_answers_were_kept(faces, tmp_path):
    with ScriptedProxy(None, [_neutral] + [("status", 503, None)] * 2) as proxy:
        with pytest.raises(EdgeemoError, match="answers so far are cached: run again to resume"):
            run(faces, proxy.url, tmp_path, limit=4, retries=1, cache=tmp_path / "kept.sqlite")
    with ScriptedProxy(None, [_neutral] + [("status", 503, None)] * 2) as proxy:
        with pytest.raises(EdgeemoError, match=r"kept in memory only \(--no-cache\), so a new run starts over") as exc:
            run(faces, proxy.url, tmp_path, limit=4, retries=1, cache=None)
    assert "cached" not in str(exc.value)


def test_bounded_concurrency(faces, tmp_path):
    with ScriptedProxy(None, [_slow_neutral] * 6) as proxy:
        res = run(faces, proxy.url, tmp_path, limit=6, batch_size=1, concurrency=2)
        assert proxy.max_in_flight == 2
    assert res["model_calls"] == 6 and res["invalid_rate"] == 0.0


def _neutral(body):
    n = sum(p["type"] == "image_url" for p in body["messages"][-1]["content"])
    return completion(json.dumps({f"image_{i + 1}": "neutral" for i in range(n)}))


def _slow_neutral(body):
    time.sleep(0.3)  # long enough for requests to overlap
    return _neutral(body)


def test_max_cost_is_a_hard_stop(faces, tmp_path):
    with ScriptedProxy(None, [_neutral] * 10) as proxy:
        with pytest.raises(EdgeemoError, match="--price-in"):
            run(faces, proxy.url, tmp_path, max_cost=1.0)  # unknown model, no prices: refuse to start
        with pytest.raises(EdgeemoError, match="max-cost"):
            # gpt-4o list price: each 2-face request is about $0.0006; $0.001 allows exactly one.
            vlm_evaluate("openai", "gpt-4o", faces, base_url=proxy.url, limit=6, batch_size=2, concurrency=1,
                         cache=tmp_path / "c2.sqlite", max_cost=0.001, **FAST)
        assert len(proxy.requests) == 1


def test_missing_key_and_estimate(fer_npz, monkeypatch):
    from click.testing import CliRunner

    from edgeemo.cli import main
    from edgeemo.data import load_dataset

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EdgeemoError, match="OPENAI_API_KEY"):
        vlm_evaluate("openai", "gpt-4o", fer_npz, limit=2, cache=None)
    r = CliRunner().invoke(main, ["vlm-eval", "--backend", "openai", "--model", "gpt-4o", "--data", str(fer_npz),
                                  "--estimate"])
    assert r.exit_code == 0, r.output
    est = json.loads(r.output)
    n = len(load_dataset(fer_npz).get_split("PrivateTest"))
    assert est["images"] == n and est["requests"] == -(-n // 20)  # 20 faces per request
    assert 0.5 < est["cost_usd"] < 3.0
