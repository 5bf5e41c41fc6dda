"""The vision-LLM pieces that need no model: answer parsing, prompts, prices, the response cache."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from edgeemo.errors import EdgeemoError
from edgeemo.labels import CLASSES
from edgeemo.vlm.cache import Answer, ResponseCache, cache_key
from edgeemo.vlm.images import data_url, image_hash, to_rgb
from edgeemo.vlm.openai_backend import Budget, CostLimitReached, label_schema
from edgeemo.vlm.parse import INVALID, OK, REFUSAL, parse_batch, parse_label
from edgeemo.vlm.pricing import estimate_request, image_tokens, price_for
from edgeemo.vlm.prompts import Example, PromptError, PromptSpec, load_template, render


@pytest.mark.parametrize("text, expected", [
    ("happy", (3, OK)), (" Happy.", (3, OK)), ("happiness", (3, OK)), ('"neutral"', (6, OK)),
    ('{"image_1": "sad"}', (4, OK)), ("The face looks surprised.", (5, OK)), ("```json\n\"fear\"\n```", (2, OK)),
    ("happy or sad", (-1, INVALID)), ("confused", (-1, INVALID)), ("", (-1, INVALID)), (None, (-1, INVALID)),
    ("contempt", (-1, INVALID)),
    ("I'm sorry, I can't help with identifying emotions of people.", (-1, REFUSAL)),
    ("I cannot determine a person's emotional state from an image.", (-1, REFUSAL)),
])
def test_parse_label(text, expected):
    assert parse_label(text) == expected


def test_parse_batch_counts_and_order():
    assert parse_batch('{"image_1": "angry", "image_2": "happy"}', 2) == [(0, OK), (3, OK)]
    assert parse_batch('{"image_2": "angry", "image_1": "happy"}', 2) == [(3, OK), (0, OK)]
    assert parse_batch('["sad", "fear", "neutral"]', 3) == [(4, OK), (2, OK), (6, OK)]
    assert parse_batch('{"answers": {"image_1": "sad"}}', 1) == [(4, OK)]
    assert parse_batch('{"image_1": "angry", "image_2": "bored"}', 2) == [(0, OK), (-1, INVALID)]
    # A count mismatch or no JSON at all means "split the batch", not a guess.
    assert parse_batch('{"image_1": "angry"}', 2) is None
    assert parse_batch("I'm sorry, I can't help with that.", 3) is None
    assert parse_batch("happy", 1) == [(3, OK)]


def test_label_schema_is_strict_enum():
    schema = label_schema(3)
    assert schema["required"] == ["image_1", "image_2", "image_3"]
    assert schema["properties"]["image_2"]["enum"] == list(CLASSES)
    assert schema["additionalProperties"] is False


def test_templates_render_and_reject_unknown_placeholders(tmp_path):
    single, batch = load_template("single"), load_template("batch")
    assert "angry, disgust, fear, happy, sad, surprise, neutral" in render(single)
    assert "image_5" in render(batch, n=5)
    custom = tmp_path / "mine.txt"
    custom.write_text("Faces: $n. Pick from $labels. Costs $$0.")
    assert render(load_template(custom), n=2) == "Faces: 2. Pick from angry, disgust, fear, happy, sad, surprise, " \
                                                 "neutral. Costs $0."
    with pytest.raises(PromptError, match=r"\$emotions"):
        render("Pick one of $emotions")
    with pytest.raises(PromptError, match="no such prompt template"):
        load_template("nope")


def test_prompt_fingerprint_changes_with_examples():
    a = PromptSpec(load_template("single"))
    b = PromptSpec(load_template("single"), examples=[Example("abc", 3)])
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == PromptSpec(load_template("single")).fingerprint()


def test_images_upscale_gray_to_rgb_and_hash():
    face = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    rgb = to_rgb(face, 224)
    assert rgb.shape == (224, 224, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == rgb[..., 2]).all()
    assert data_url(rgb).startswith("data:image/png;base64,")
    assert image_hash(face) == image_hash(face.copy()) != image_hash(face.T.copy())


def test_prices_and_token_estimates():
    p = price_for("gpt-4o-2024-08-06")
    assert (p.usd_in, p.usd_out) == (2.50, 10.00)
    assert price_for("gpt-4o-mini").usd_in == 0.15
    assert price_for("gpt-4o", batch_api=True).usd_in == 1.25
    assert price_for("my-local-llava") is None
    assert price_for("my-local-llava", 1.0, 2.0).cost(1_000_000, 500_000) == pytest.approx(2.0)
    assert image_tokens("gpt-4o", 224, "low") == 85
    assert image_tokens("gpt-4o", 224, "high") == 255
    assert image_tokens("gpt-4.1-mini", 224) == 80
    tin, tout = estimate_request("gpt-4o", "x" * 400, 20, 224, "low")
    assert tin == 20 * 85 + 100 + 10 and tout == 164


def test_budget_is_a_hard_stop():
    with pytest.raises(EdgeemoError, match="--price-in"):
        Budget(0.10, None)
    b = Budget(0.01, price_for("gpt-4o"))
    b.reserve(0.006)
    with pytest.raises(CostLimitReached):
        b.reserve(0.006)  # would pass the limit while the first is in flight
    b.settle(0.006, 0.004)
    b.reserve(0.005)
    assert b.spent == pytest.approx(0.004)


def test_cache_persists_is_wal_and_thread_safe(tmp_path):
    path = tmp_path / "c.sqlite"
    key = cache_key(model="m", image="h", params={"a": 1})
    assert key == cache_key(params={"a": 1}, image="h", model="m")
    with ResponseCache(path) as c:
        c.put(key, Answer(3, OK, "happy", 0.5, {"prompt_tokens": 10}))

        def writer(j):
            for i in range(20):
                c.put(f"k{j}-{i}", Answer(i % 7, OK, None, None))

        threads = [threading.Thread(target=writer, args=(j,)) for j in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(c) == 81
    with ResponseCache(path) as c:
        got = c.get_many([key, "missing"])
        assert list(got) == [key]
        assert got[key] == Answer(3, OK, "happy", 0.5, {"prompt_tokens": 10})
        c.put_job("job", "batch_1", "in_progress")
        assert c.get_job("job") == ("batch_1", "in_progress")
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
