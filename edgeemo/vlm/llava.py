"""LLaVA-style models through llama.cpp (llama-cpp-python): a GGUF text model plus its projector.

Images go through llama.cpp's multimodal library (mtmd), so any pair it loads works: LLaVA 1.5
and 1.6 (``--chat-format llava-1-5`` / ``llava-1-6``), the other LLaVA-family prompt formats
llama-cpp-python ships, and newer models whose GGUF carries a chat template
(``--chat-format mtmd``). Two ways to answer:

* ``grammar`` (default): greedy decoding under a GBNF grammar that only admits the seven labels,
  so every answer is a label;
* ``logprob``: no sampling at all — the log-probability of each label's tokens after the prompt
  is computed and the best one taken (scores are kept in the answer).

State isolation: llama-cpp-python keys its prompt cache and prefix reuse on token ids, and an
image has no token ids, so two images with the same text prompt look identical to it — a known
way for one image's state to leak into the next answer. This backend never attaches a prompt
cache, and before every image it resets the token history and clears the whole KV memory, so
each answer depends on its own image only (``tests/test_vlm_llava.py`` checks this bit for bit).
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np

from ..errors import EdgeemoError, ModelFileError, require
from ..filehash import file_fingerprint
from ..labels import CLASSES
from ..memory import peak_rss_mb, rss_mb
from .cache import Answer
from .parse import OK, parse_label
from .prompts import PromptSpec

# --chat-format name -> llama-cpp-python handler class whose CHAT_FORMAT (Jinja) renders the prompt
CHAT_FORMATS = {
    "llava-1-5": "Llava15ChatHandler",
    "llava-1-6": "Llava16ChatHandler",
    "obsidian": "ObsidianChatHandler",
    "moondream": "MoondreamChatHandler",
    "nanollava": "NanoLlavaChatHandler",
    "llama-3-vision-alpha": "Llama3VisionAlphaChatHandler",
    "minicpm-v-2.6": "MiniCPMv26ChatHandler",
    "qwen2.5-vl": "Qwen25VLChatHandler",
    "mtmd": None,  # the chat template stored in the text model's GGUF
}
SCORING = ("grammar", "logprob")


def label_grammar(labels: tuple[str, ...] = CLASSES) -> str:
    """GBNF admitting exactly one label, optionally after one space (SentencePiece word starts)."""
    alts = " | ".join(f'"{lab}"' for lab in labels)
    return f'root ::= " "? ({alts})\n'


class LlavaBackend:
    """One loaded GGUF pair; :meth:`classify` answers for one face at a time."""

    name = "llava"
    one_face_per_prompt = True  # LLaVA 1.5 is trained on single images: faces are asked in turn

    def __init__(self, model: str | Path, mmproj: str | Path, *, chat_format: str = "llava-1-5",
                 scoring: str = "grammar", n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None,
                 max_tokens: int = 16, seed: int = 0, labels: tuple[str, ...] = CLASSES,
                 verbose: bool = False) -> None:
        self.llama_cpp = require("llama_cpp", "llava", "The llava backend")
        self.model_path, self.mmproj_path = Path(model), Path(mmproj)
        for what, p in (("--model", self.model_path), ("--mmproj", self.mmproj_path)):
            if not p.is_file():
                raise ModelFileError(f"{p}: no such file ({what} must be a GGUF file)")
        if chat_format not in CHAT_FORMATS:
            raise EdgeemoError(f"unknown chat format {chat_format!r}; use one of {', '.join(CHAT_FORMATS)}")
        if scoring not in SCORING:
            raise EdgeemoError(f"unknown scoring {scoring!r}; use grammar or logprob")
        self.chat_format, self.scoring, self.labels = chat_format, scoring, labels
        self.max_tokens, self.seed, self.n_gpu_layers = max_tokens, seed, n_gpu_layers
        self.n_ctx, self.threads, self.verbose = n_ctx, threads, verbose
        self.model_calls = 0
        self._mtmd_cpp = require("llama_cpp.mtmd_cpp", "llava", "The llava backend")
        self._llama = None  # loaded on first use: a run answered from the cache never loads the model
        self._mtmd = None
        self.load_s: float | None = None
        self.load_rss_mb: float | None = None

    @property
    def model_name(self) -> str:
        """The name results and the cache give this model: its GGUF file's name."""
        return self.model_path.name

    @property
    def llama(self):
        """The llama.cpp model, loaded (with its projector) the first time it is needed."""
        if self._llama is None:
            self._load()
        return self._llama

    def _load(self) -> None:
        rss0 = rss_mb()
        t0 = time.perf_counter()
        try:
            self._llama = self.llama_cpp.Llama(
                model_path=str(self.model_path), n_ctx=self.n_ctx, n_gpu_layers=self.n_gpu_layers,
                n_threads=self.threads, seed=self.seed, logits_all=False, verbose=self.verbose,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{self.model_path}: llama.cpp could not load this model ({exc})") from exc
        try:
            self._mtmd = self._init_mtmd(self.verbose)
        except Exception:
            self._llama.close()
            self._llama = None
            raise
        self.load_s = time.perf_counter() - t0
        rss1 = rss_mb()
        self.load_rss_mb = None if rss0 is None or rss1 is None else rss1 - rss0
        self._marker = self._mtmd_cpp.mtmd_default_marker().decode()
        self._template, self._system = self._chat_template()
        self._grammar = self.llama_cpp.LlamaGrammar.from_string(label_grammar(self.labels), verbose=False)
        self._label_tokens = [self._tokens_for(lab) for lab in self.labels]

    # -- loading ---------------------------------------------------------------------------------
    def _init_mtmd(self, verbose: bool):
        m = self._mtmd_cpp
        try:  # route mtmd's own log through llama-cpp-python's, which honours verbose
            from llama_cpp._logger import llama_log_callback

            m.mtmd_log_set(llama_log_callback, None)
            m.mtmd_helper_log_set(llama_log_callback, None)
        except (ImportError, AttributeError):  # pragma: no cover - older or newer layouts just log more
            pass
        params = m.mtmd_context_params_default()
        params.use_gpu = self.n_gpu_layers != 0
        params.print_timings = verbose
        params.n_threads = self._llama.n_threads
        ctx = m.mtmd_init_from_file(str(self.mmproj_path).encode(), self._llama.model, params)
        if not ctx:
            raise ModelFileError(
                f"{self.mmproj_path}: llama.cpp could not load this projector for {self.model_path.name} "
                "(is it the mmproj that belongs to this text model? run with --verbose for llama.cpp's reason)"
            )
        if not m.mtmd_support_vision(ctx):
            m.mtmd_free(ctx)
            raise ModelFileError(f"{self.mmproj_path}: this projector has no vision encoder")
        return ctx

    def _chat_template(self) -> tuple[str, str | None]:
        cls_name = CHAT_FORMATS[self.chat_format]
        if cls_name is None:
            tmpl = self.llama.metadata.get("tokenizer.chat_template")
            if not tmpl:
                raise ModelFileError(
                    f"{self.model_path.name} has no chat template in its GGUF, so --chat-format mtmd cannot be "
                    "used; pick the model's format, e.g. --chat-format llava-1-5"
                )
            return tmpl, None
        from llama_cpp import llama_chat_format

        cls = getattr(llama_chat_format, cls_name)
        return cls.CHAT_FORMAT, getattr(cls, "DEFAULT_SYSTEM_MESSAGE", None)

    def _tokens_for(self, label: str) -> list[int]:
        """The shortest tokenization of the label as an answer word (``▁happy``/``Ġhappy``/``happy``)."""
        best: list[int] | None = None
        for text in (label, " " + label):
            toks = self.llama.tokenize(text.encode(), add_bos=False, special=False)
            if self.llama.detokenize(toks).decode("utf-8", "ignore").strip() == label:
                if best is None or len(toks) < len(best):
                    best = toks
        if not best:
            raise ModelFileError(f"{self.model_path.name}: the label {label!r} cannot be tokenized")
        return best

    def identity(self) -> dict:
        """What identifies this model in the cache key."""
        return {"backend": self.name, "model": file_fingerprint(self.model_path),
                "mmproj": file_fingerprint(self.mmproj_path), "chat_format": self.chat_format}

    def params(self) -> dict:
        return {"scoring": self.scoring, "max_tokens": self.max_tokens, "seed": self.seed, "temperature": 0.0}

    # -- one image -------------------------------------------------------------------------------
    def render(self, prompt: PromptSpec, n_examples: int) -> str:
        """The full prompt text, with llama.cpp's media marker where each image goes."""
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        llama = self.llama  # loads the model on first use
        question = prompt.text(1)
        image = {"type": "image_url", "image_url": {"url": self._marker}}
        messages: list[dict] = []
        system = prompt.system if prompt.system is not None else self._system
        if system:
            messages.append({"role": "system", "content": system})
        for ex in prompt.examples[:n_examples]:
            messages.append({"role": "user", "content": [image, {"type": "text", "text": question}]})
            messages.append({"role": "assistant", "content": self.labels[ex.label]})
        messages.append({"role": "user", "content": [image, {"type": "text", "text": question}]})
        if self.chat_format == "mtmd":  # generic templates know text parts only: the marker is text
            messages = [
                {**m, "content": [p if p["type"] == "text" else {"type": "text", "text": self._marker}
                                  for p in m["content"]]} if isinstance(m["content"], list) else m
                for m in messages
            ]
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        eos = llama.detokenize([llama.token_eos()]).decode("utf-8", "ignore")
        bos = llama.detokenize([llama.token_bos()]).decode("utf-8", "ignore")
        text = env.from_string(self._template).render(
            messages=messages, add_generation_prompt=True, eos_token=eos, bos_token=bos,
        )
        # The answer word carries its own leading space (▁happy), as in training.
        return text.rstrip(" ")

    def _forget(self) -> None:
        """Drop every trace of the previous image: token history, KV memory, prompt cache."""
        lc, llama = self.llama_cpp, self.llama
        if getattr(llama, "cache", None) is not None:
            raise EdgeemoError("a llama.cpp prompt cache is attached; it would mix up images, remove it")
        llama.reset()
        mem = lc.llama_get_memory(llama.ctx)
        if mem is not None:
            lc.llama_memory_clear(mem, True)
        llama.input_ids[:] = 0

    def _eval_prompt(self, text: str, images: list[np.ndarray]) -> int:
        """Tokenize text + images with mtmd and evaluate them from an empty context."""
        m, lc, llama = self._mtmd_cpp, self.llama_cpp, self.llama
        bitmaps = []
        chunks = m.mtmd_input_chunks_init()
        try:
            for rgb in images:
                h, w = rgb.shape[:2]
                buf = (ctypes.c_uint8 * rgb.size).from_buffer_copy(np.ascontiguousarray(rgb).tobytes())
                bitmaps.append(m.mtmd_bitmap_init(w, h, buf))
            inp = m.mtmd_input_text()
            raw = text.encode("utf-8")
            inp.text, inp.text_len, inp.add_special, inp.parse_special = raw, len(raw), True, True
            arr = (m.mtmd_bitmap_p_ctypes * len(bitmaps))(*bitmaps)
            rc = m.mtmd_tokenize(self._mtmd, chunks, ctypes.byref(inp), arr, len(bitmaps))
            if rc != 0:
                raise EdgeemoError(f"llama.cpp could not tokenize the prompt with {len(images)} image(s) (code {rc})")
            self._forget()
            n_chunks = m.mtmd_input_chunks_size(chunks)
            last_type = None
            for i in range(n_chunks):
                chunk = m.mtmd_input_chunks_get(chunks, i)
                last_type = m.mtmd_input_chunk_get_type(chunk)
                n = m.mtmd_input_chunk_get_n_tokens(chunk)
                if llama.n_tokens + n > llama.n_ctx():
                    raise EdgeemoError(
                        f"the prompt needs more than the {llama.n_ctx()} tokens of context; raise --n-ctx "
                        "(each image takes 576 tokens in LLaVA 1.5, more in 1.6; few-shot adds 7×k images)"
                    )
                if last_type == m.MTMD_INPUT_CHUNK_TYPE_TEXT:
                    n_out = ctypes.c_size_t()
                    ptr = m.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n_out))
                    llama.eval([ptr[j] for j in range(n_out.value)])
                else:
                    new_n_past = lc.llama_pos(0)
                    rc = m.mtmd_helper_eval_chunk_single(
                        self._mtmd, llama.ctx, chunk, lc.llama_pos(llama.n_tokens), lc.llama_seq_id(0),
                        llama.n_batch, False, ctypes.byref(new_n_past),
                    )
                    if rc != 0:
                        raise EdgeemoError(f"llama.cpp failed to encode an image (code {rc})")
                    llama.n_tokens = new_n_past.value
            if last_type != m.MTMD_INPUT_CHUNK_TYPE_TEXT:
                raise EdgeemoError("the prompt template must end with text after the last image")
            return llama.n_tokens
        finally:
            m.mtmd_input_chunks_free(chunks)
            for b in bitmaps:
                if b:
                    m.mtmd_bitmap_free(b)

    def classify(self, rgb: np.ndarray, prompt: PromptSpec, examples: list[np.ndarray] | None = None) -> Answer:
        """Answer for one face (``rgb``: H×W×3 uint8); ``examples`` are the few-shot faces, in order."""
        examples = examples or []
        text = self.render(prompt, len(examples))
        self.model_calls += 1
        t0 = time.perf_counter()
        n_prompt = self._eval_prompt(text, [*examples, rgb])
        t_prompt = time.perf_counter()
        if self.scoring == "logprob":
            return self._score_labels(n_prompt, t0, t_prompt)
        t_first, pieces = None, []
        for chunk in self.llama.create_completion(
            prompt=self.llama.input_ids[:n_prompt].tolist(), grammar=self._grammar, temperature=0.0,
            max_tokens=self.max_tokens, repeat_penalty=1.0, seed=self.seed, stream=True,
        ):
            if t_first is None:
                t_first = time.perf_counter()
            pieces.append(chunk["choices"][0]["text"])
        t1 = time.perf_counter()
        raw = "".join(pieces)
        label, status = parse_label(raw, self.labels)
        n_gen = sum(1 for p in pieces if p)  # streamed tokens (the closing chunk is empty)
        decode_s = t1 - t_prompt
        return Answer(label, status, raw, t1 - t0, {
            "prompt_tokens": n_prompt, "completion_tokens": n_gen,
            "prompt_eval_s": t_prompt - t0,
            "ttft_s": None if t_first is None else t_first - t0,
            "tokens_per_s": n_gen / decode_s if decode_s > 0 and n_gen else None,
        })

    def _score_labels(self, n_prompt: int, t0: float, t_prompt: float) -> Answer:
        lc, llama = self.llama_cpp, self.llama
        n_vocab = llama.n_vocab()

        def logprobs() -> np.ndarray:
            x = np.ctypeslib.as_array(lc.llama_get_logits_ith(llama.ctx, -1), shape=(n_vocab,)).astype(np.float64)
            x -= x.max()
            return x - np.log(np.exp(x).sum())

        first = logprobs()
        scores = []
        for toks in self._label_tokens:
            lp = float(first[toks[0]])
            llama.n_tokens = n_prompt
            for prev, nxt in zip(toks[:-1], toks[1:]):
                llama.eval([prev])
                lp += float(logprobs()[nxt])
            scores.append(lp)
        t1 = time.perf_counter()
        best = int(np.argmax(scores))
        return Answer(best, OK, self.labels[best], t1 - t0, {
            "prompt_tokens": n_prompt, "completion_tokens": 0, "prompt_eval_s": t_prompt - t0,
            "ttft_s": t1 - t0, "tokens_per_s": None, "scores": scores,
        })

    def stats(self) -> dict:
        """Load time and memory (None before the model was loaded: every answer came from the cache)."""
        loaded = self._llama is not None
        return {"loaded": loaded, "load_s": self.load_s, "load_rss_mb": self.load_rss_mb,
                "peak_rss_mb": peak_rss_mb() if loaded else None, "n_gpu_layers": self.n_gpu_layers,
                "n_threads": self._llama.n_threads if loaded else self.threads}

    def summary(self, answers: list[Answer], new: list[Answer], **_) -> dict:
        """This backend's part of a run's result: no cost, and time to first token, decode speed and
        prompt time over the answers this run asked for (``new``; none when all came from the cache)."""
        def mean(key: str) -> float | None:
            vals = [a.info.get(key) for a in new if a.info.get(key) is not None]
            return float(np.mean(vals)) if vals else None

        return {"cost_usd": 0.0, "ttft_s": mean("ttft_s"), "tokens_per_s": mean("tokens_per_s"),
                "prompt_eval_s": mean("prompt_eval_s"), "llama_cpp": self.stats()}

    def close(self) -> None:
        if getattr(self, "_mtmd", None):
            self._mtmd_cpp.mtmd_free(self._mtmd)
            self._mtmd = None
        if getattr(self, "_llama", None) is not None:
            self._llama.close()
            self._llama = None
