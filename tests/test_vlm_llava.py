"""LLaVA through llama.cpp, for real: a tiny GGUF pair written by the test is loaded by llama.cpp's
multimodal code, sees FER2013 faces, and answers under a grammar. Nothing is mocked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from vlm_fixtures.fixtures import need_llama_cpp, tiny_pair  # noqa: F401  (fixture)

from edgeemo.errors import EdgeemoError
from edgeemo.labels import CLASSES

need_llama_cpp()

from edgeemo.vlm.images import to_rgb  # noqa: E402
from edgeemo.vlm.llava import LlavaBackend, label_grammar  # noqa: E402
from edgeemo.vlm.parse import OK  # noqa: E402
from edgeemo.vlm.prompts import PromptSpec, load_template  # noqa: E402
from edgeemo.vlm.run import vlm_evaluate  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faces(fer_npz):
    from edgeemo.data import load_dataset

    fs = load_dataset(fer_npz).get_split("PrivateTest")
    return fs.images[:4]


@pytest.fixture(scope="module")
def spec():
    return PromptSpec(load_template("single"))


@pytest.fixture(scope="module")
def grammar_backend(tiny_pair):  # noqa: F811
    be = LlavaBackend(*tiny_pair, threads=2)
    yield be
    be.close()


def test_grammar_lists_every_label():
    g = label_grammar()
    assert all(f'"{c}"' in g for c in CLASSES) and g.startswith("root ::=")


def test_image_in_constrained_label_out(grammar_backend, faces, spec):
    be = grammar_backend
    ans = be.classify(to_rgb(faces[0]), spec)
    assert ans.status == OK and 0 <= ans.label < len(CLASSES)
    assert ans.raw.strip() == CLASSES[ans.label]
    info = ans.info
    assert info["prompt_tokens"] > 16  # 16 image tokens from the projector plus the text
    assert info["completion_tokens"] >= 1
    assert 0 < info["ttft_s"] <= ans.latency_s and info["tokens_per_s"] > 0
    stats = be.stats()
    assert stats["load_s"] > 0 and stats["peak_rss_mb"] > 0
    # The prompt really holds an image: llama.cpp's media marker is replaced by image tokens.
    text = be.render(spec, 0)
    assert be._marker in text and text.endswith("ASSISTANT:")


def test_no_state_leaks_from_one_image_into_the_next(tiny_pair, faces, spec):  # noqa: F811
    """The known llama-cpp-python pitfall: with the same text prompt, the previous image's state
    answering for the next one. Label log-probabilities make any leak visible."""
    a, b = to_rgb(faces[0]), to_rgb(faces[1])
    be = LlavaBackend(*tiny_pair, scoring="logprob", threads=2)
    try:
        a1 = be.classify(a, spec).info["scores"]
        b_after_a = be.classify(b, spec).info["scores"]
        a_again = be.classify(a, spec).info["scores"]
    finally:
        be.close()
    fresh = LlavaBackend(*tiny_pair, scoring="logprob", threads=2)
    try:
        b_fresh = fresh.classify(b, spec).info["scores"]
    finally:
        fresh.close()
    assert np.max(np.abs(np.subtract(a1, b_fresh))) > 1e-4, "the images must change the answer's scores"
    assert b_after_a == pytest.approx(b_fresh, abs=1e-4)
    assert a_again == pytest.approx(a1, abs=1e-4)


def test_a_prompt_cache_that_would_mix_images_is_refused(tiny_pair, faces, spec):  # noqa: F811
    import llama_cpp

    be = LlavaBackend(*tiny_pair, threads=2)
    try:
        be.llama.set_cache(llama_cpp.LlamaRAMCache())
        with pytest.raises(EdgeemoError, match="prompt cache"):
            be.classify(to_rgb(faces[0]), spec)
    finally:
        be.close()


def test_vlm_eval_on_fer2013_then_cache_rerun_and_resume(tiny_pair, fer_npz, tmp_path):  # noqa: F811
    text, proj = tiny_pair
    cache = tmp_path / "cache.sqlite"
    kw = dict(mmproj=proj, cache=cache, threads=2)
    res = vlm_evaluate("llava", text, fer_npz, limit=6, **kw)
    assert res["n"] == 6 and res["split"] == "PrivateTest"
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "invalid_rate", "refusal_rate", "latency",
                "tokens", "cost_usd", "model_calls", "cache_hits", "ttft_s", "tokens_per_s", "llama_cpp"):
        assert key in res, key
    assert res["invalid_rate"] == 0.0 and res["invalid"] == 0  # constrained decoding: always a label
    assert res["model_calls"] == 6 and res["cache_hits"] == 0
    assert res["tokens"]["prompt"] > 6 * 16 and res["cost_usd"] == 0.0
    assert res["llama_cpp"]["load_s"] > 0 and res["llama_cpp"]["peak_rss_mb"] > 0
    assert sum(map(sum, res["confusion"])) == 6

    again = vlm_evaluate("llava", text, fer_npz, limit=6, **kw)
    assert again["model_calls"] == 0 and again["cache_hits"] == 6
    assert again["confusion"] == res["confusion"]
    # every answer came from the cache: the model was never loaded, and no speed is claimed for it
    assert again["llama_cpp"]["loaded"] is False and again["llama_cpp"]["load_s"] is None
    assert again["tokens_per_s"] is None and again["ttft_s"] is None and again["tokens"]["prompt"] == 0

    more = vlm_evaluate("llava", text, fer_npz, limit=9, **kw)  # resumes: only the 3 new faces are asked
    assert more["model_calls"] == 3 and more["cache_hits"] == 6 and more["n"] == 9


def test_logprob_scoring_and_few_shot(tiny_pair, fer_npz, tmp_path):  # noqa: F811
    text, proj = tiny_pair
    res = vlm_evaluate("llava", text, fer_npz, mmproj=proj, limit=3, scoring="logprob", shots=1, cache=None,
                       threads=2)
    assert res["n"] == 3 and res["invalid_rate"] == 0.0 and res["shots"] == 1
    assert res["tokens"]["completion"] == 0  # nothing sampled
    assert res["tokens"]["prompt"] > 3 * 8 * 16  # 7 example faces + the question face, 16 tokens each


def test_cli_end_to_end(tiny_pair, fer_npz, tmp_path):  # noqa: F811
    from click.testing import CliRunner

    from edgeemo.cli import main

    text, proj = tiny_pair
    out = tmp_path / "llava.json"
    args = ["vlm-eval", "--backend", "llava", "--model", str(text), "--mmproj", str(proj), "--data", str(fer_npz),
            "--limit", "4", "--cache", str(tmp_path / "c.sqlite"), "--threads", "2", "--json", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["n"] == 4 and res["invalid_rate"] == 0.0 and res["model_calls"] == 4
    assert (tmp_path / "llava.png").exists()
    assert "tok/s" in r.output and "from the response cache" not in r.output
    r2 = CliRunner().invoke(main, args)
    assert r2.exit_code == 0, r2.output
    assert json.loads(out.read_text())["model_calls"] == 0
    # answered from the cache: no load time, memory or speed is claimed, and the latency says where it is from
    assert "every answer came from the cache; the model was not loaded" in r2.output
    assert "tok/s" not in r2.output and "peak RSS" not in r2.output and "load " not in r2.output
    assert "4 of 4 answers came from the response cache; their latency is the one recorded" in r2.output


def test_clear_errors_for_missing_files(tiny_pair, fer_npz, tmp_path):  # noqa: F811
    text, proj = tiny_pair
    with pytest.raises(EdgeemoError, match="--mmproj"):
        vlm_evaluate("llava", text, fer_npz, limit=1, cache=None)
    with pytest.raises(EdgeemoError, match="no such file"):
        vlm_evaluate("llava", tmp_path / "missing.gguf", fer_npz, mmproj=proj, limit=1, cache=None)
    with pytest.raises(EdgeemoError, match="could not load this projector"):
        vlm_evaluate("llava", text, fer_npz, mmproj=text, limit=1, cache=None)
