"""Write a tiny but valid LLaVA-style GGUF pair (text model + vision projector) with random weights.

The pair is built the way real LLaVA 1.5 conversions are laid out, so llama.cpp's multimodal
code (mtmd/clip) loads and runs it exactly as it would a real model:

* text model: ``general.architecture = llama``, 2 blocks, hidden 64, a SentencePiece-style
  vocabulary of ~420 pieces (control tokens, 256 byte tokens, printable ASCII and every
  ``▁``-prefixed prefix of the emotion labels, so ``▁angry`` … ``▁neutral`` are single tokens);
  it carries a chat template too, so the ``mtmd`` handler can use it.
* projector: ``general.architecture = clip``, ``clip.projector_type = mlp``, a 2-block ViT on
  32×32 images with 8×8 patches (16 image tokens), CLIP-style tensor names (``v.patch_embd``,
  ``v.blk.N.*``, ``mm.0``/``mm.2``).

Weights are random, so answers are meaningless; what the tests check is the plumbing (image in,
constrained label out, timings, caching, no state carried from one image to the next).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABEL_WORDS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EXTRA_WORDS = ("USER", "ASSISTANT", "image", "emotion", "face")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message.role == 'user' %}USER: "
    "{% if message.content is string %}{{ message.content }}"
    "{% else %}{% for part in message.content %}{% if part.type == 'text' %}{{ part.text }}{% endif %}"
    "{% endfor %}{% endif %}\n"
    "{% elif message.role == 'assistant' %}ASSISTANT: {{ message.content }}</s>\n"
    "{% else %}{{ message.content }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

TEXT = {"n_embd": 64, "n_head": 4, "n_ff": 128, "n_layer": 2, "n_ctx": 4096}
VISION = {"n_embd": 32, "n_head": 2, "n_ff": 64, "n_layer": 2, "image_size": 32, "patch_size": 8, "proj_hidden": 64}


def _vocab() -> tuple[list[str], list[float], list[int]]:
    """SentencePiece-style pieces, scores and token types (1 normal, 2 unknown, 3 control, 6 byte)."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [2, 3, 3]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256
    singles = ["▁"] + [chr(c) for c in range(33, 127)]
    tokens += singles
    types += [1] * len(singles)
    seen = set(tokens)
    for word in LABEL_WORDS + EXTRA_WORDS:
        piece = "▁" + word
        for end in range(2, len(piece) + 1):
            p = piece[:end]
            if p not in seen:
                seen.add(p)
                tokens.append(p)
                types.append(1)
    # Longer pieces score higher, so the tokenizer merges a label into one piece.
    scores = [0.0 if t in (1, 2, 3, 6) else float(len(tok)) for tok, t in zip(tokens, types)]
    return tokens, scores, types


def _rand(rng: np.random.Generator, *shape: int, scale: float = 0.2) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def write_text_model(path: Path, seed: int = 0) -> Path:
    import gguf

    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()
    d, ff, n_vocab = TEXT["n_embd"], TEXT["n_ff"], len(tokens)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("edgeemo-tiny-llava-text")
    w.add_context_length(TEXT["n_ctx"])
    w.add_embedding_length(d)
    w.add_block_count(TEXT["n_layer"])
    w.add_feed_forward_length(ff)
    w.add_head_count(TEXT["n_head"])
    w.add_head_count_kv(TEXT["n_head"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(d // TEXT["n_head"])
    w.add_vocab_size(n_vocab)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    w.add_tensor("token_embd.weight", _rand(rng, n_vocab, d, scale=1.0))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    w.add_tensor("output.weight", _rand(rng, n_vocab, d, scale=0.5))
    for i in range(TEXT["n_layer"]):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(d, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", _rand(rng, d, d))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(d, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", _rand(rng, ff, d))
        w.add_tensor(f"blk.{i}.ffn_up.weight", _rand(rng, ff, d))
        w.add_tensor(f"blk.{i}.ffn_down.weight", _rand(rng, d, ff))
    _finish(w)
    return path


def write_projector(path: Path, seed: int = 1) -> Path:
    import gguf

    rng = np.random.default_rng(seed)
    v, d_text = VISION, TEXT["n_embd"]
    e, ff, hid = v["n_embd"], v["n_ff"], v["proj_hidden"]
    n_pos = (v["image_size"] // v["patch_size"]) ** 2 + 1  # patches + class token
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name("edgeemo-tiny-llava-mmproj")
    w.add_file_type(0)
    w.add_bool("clip.has_text_encoder", False)
    w.add_clip_has_vision_encoder(True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_clip_projector_type("mlp")
    w.add_vision_image_size(v["image_size"])
    w.add_vision_patch_size(v["patch_size"])
    w.add_vision_embedding_length(e)
    w.add_vision_feed_forward_length(ff)
    w.add_vision_block_count(v["n_layer"])
    w.add_vision_head_count(v["n_head"])
    w.add_vision_projection_dim(d_text)
    w.add_vision_attention_layernorm_eps(1e-5)
    w.add_vision_image_mean([0.48145466, 0.4578275, 0.40821073])
    w.add_vision_image_std([0.26862954, 0.26130258, 0.27577711])
    w.add_vision_use_gelu(False)
    p = v["patch_size"]
    w.add_tensor("v.patch_embd.weight", _rand(rng, e, 3, p, p, scale=0.5))
    w.add_tensor("v.class_embd", _rand(rng, e))
    w.add_tensor("v.position_embd.weight", _rand(rng, n_pos, e))
    w.add_tensor("v.pre_ln.weight", np.ones(e, np.float32))
    w.add_tensor("v.pre_ln.bias", np.zeros(e, np.float32))
    for i in range(v["n_layer"]):
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(f"v.blk.{i}.{name}.weight", _rand(rng, e, e))
            w.add_tensor(f"v.blk.{i}.{name}.bias", np.zeros(e, np.float32))
        for ln in ("ln1", "ln2"):
            w.add_tensor(f"v.blk.{i}.{ln}.weight", np.ones(e, np.float32))
            w.add_tensor(f"v.blk.{i}.{ln}.bias", np.zeros(e, np.float32))
        w.add_tensor(f"v.blk.{i}.ffn_up.weight", _rand(rng, ff, e))
        w.add_tensor(f"v.blk.{i}.ffn_up.bias", np.zeros(ff, np.float32))
        w.add_tensor(f"v.blk.{i}.ffn_down.weight", _rand(rng, e, ff))
        w.add_tensor(f"v.blk.{i}.ffn_down.bias", np.zeros(e, np.float32))
    w.add_tensor("mm.0.weight", _rand(rng, hid, e, scale=0.5))
    w.add_tensor("mm.0.bias", np.zeros(hid, np.float32))
    w.add_tensor("mm.2.weight", _rand(rng, d_text, hid, scale=0.5))
    w.add_tensor("mm.2.bias", np.zeros(d_text, np.float32))
    _finish(w)
    return path


def _finish(w) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def build_tiny_llava(out_dir: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``tiny-text.gguf`` and ``tiny-mmproj.gguf`` into ``out_dir``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_text_model(out / "tiny-text.gguf", seed), write_projector(out / "tiny-mmproj.gguf", seed + 1)


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    print(*build_tiny_llava(sys.argv[1] if len(sys.argv) > 1 else "tiny-llava"))
