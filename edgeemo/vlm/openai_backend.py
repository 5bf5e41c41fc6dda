"""Vision LLMs behind an OpenAI-compatible chat-completions endpoint (OpenAI, llama.cpp servers, vLLM…).

Several faces go into one request, as in Lian et al. 2024, and the answer is a JSON object
``{"image_1": label, ...}``. With ``response_format="json_schema"`` (OpenAI structured outputs,
also llama.cpp's ``llama-server`` and vLLM) each value is an enum of the labels, so the model
cannot answer anything else; ``json_object`` sends the same schema in the form
llama-cpp-python's server turns into a grammar; ``none`` asks in words only.

When an answer does not hold exactly one label per image, or the model refuses, the batch is
split in halves and each half asked again, down to single images; a single image that still
gets no label is counted as invalid or refused, never guessed. Transport failures (429, 5xx,
timeouts, dropped connections) are retried with exponential backoff and jitter, honouring
``Retry-After``. The API key is read from ``OPENAI_API_KEY`` and handed to the client only: it is
not part of any cache key, result, or message.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import EdgeemoError, require
from ..labels import CLASSES
from .cache import Answer
from .parse import REFUSAL, parse_batch, parse_label
from .pricing import Price, estimate_request
from .prompts import PromptSpec

RESPONSE_FORMATS = ("json_schema", "json_object", "none")
DETAILS = ("low", "high", "auto")
KEY_ENV = "OPENAI_API_KEY"


class CostLimitReached(EdgeemoError):
    """The next request would take the run past ``--max-cost``."""


class Budget:
    """Running spend with a hard limit; requests reserve their estimate before they are sent."""

    def __init__(self, max_cost: float | None, price: Price | None, hint: Callable[[], str] = lambda: "") -> None:
        if max_cost is not None and price is None:
            raise EdgeemoError(
                "--max-cost needs the model's prices, and this model is not in edgeemo's price table: "
                "give --price-in and --price-out (USD per 1M tokens)"
            )
        self.max_cost, self.price, self.hint = max_cost, price, hint
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, estimate: float) -> None:
        if self.max_cost is None:
            return
        with self._lock:
            if self.spent + self.reserved + estimate > self.max_cost:
                raise CostLimitReached(
                    f"stopped before exceeding --max-cost ${self.max_cost:.4f}: spent ${self.spent:.4f}, the next "
                    f"request would add about ${estimate:.4f}; {self.hint()}"
                )
            self.reserved += estimate

    def settle(self, estimate: float, actual: float | None) -> None:
        with self._lock:
            if self.max_cost is not None:
                self.reserved -= estimate
            self.spent += actual or 0.0


@dataclass
class CallStats:
    model_calls: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    splits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    errors: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def label_schema(n: int, labels: tuple[str, ...] = CLASSES) -> dict:
    keys = [f"image_{i + 1}" for i in range(n)]
    return {
        "type": "object",
        "properties": {k: {"type": "string", "enum": list(labels)} for k in keys},
        "required": keys,
        "additionalProperties": False,
    }


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class OpenAIBackend:
    """Chat completions with images; :meth:`classify_batch` answers for a list of faces."""

    name = "openai"
    one_face_per_prompt = False  # a request holds --batch-size faces, --concurrency requests in flight

    def __init__(self, model: str, *, base_url: str | None = None, timeout: float = 60.0, retries: int = 5,
                 backoff: float = 1.0, backoff_max: float = 60.0, response_format: str = "json_schema",
                 detail: str = "low", seed: int = 0, price: Price | None = None, max_cost: float | None = None,
                 image_size: int = 224, labels: tuple[str, ...] = CLASSES,
                 log: Callable[[str], object] | None = None) -> None:
        openai = require("openai", "openai", "The openai backend")
        if response_format not in RESPONSE_FORMATS:
            raise EdgeemoError(f"unknown --response-format {response_format!r}; use {', '.join(RESPONSE_FORMATS)}")
        if detail not in DETAILS:
            raise EdgeemoError(f"unknown --detail {detail!r}; use {', '.join(DETAILS)}")
        key = os.environ.get(KEY_ENV)
        if not key:
            if base_url is None:
                raise EdgeemoError(f"the openai backend needs an API key: export {KEY_ENV}=... (it is never stored)")
            key = "no-key"  # local OpenAI-compatible servers usually need none
        self._openai = openai
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
        self.model, self.base_url = model, base_url
        self.retries, self.backoff, self.backoff_max = retries, backoff, backoff_max
        self.response_format, self.detail, self.seed = response_format, detail, seed
        self.labels, self.image_size, self.price = labels, image_size, price
        self.resume_hint = "answers so far are cached: run again to resume"  # vlm_evaluate says which
        self.budget = Budget(max_cost, price, hint=lambda: self.resume_hint.replace(
            "run again", "raise --max-cost and run again"))
        self.stats = CallStats()
        self.timeout = timeout
        self.log = log or _to_stderr

    @property
    def model_calls(self) -> int:
        return self.stats.model_calls

    @property
    def model_name(self) -> str:
        """The name results and the cache give this model: the API's model name."""
        return self.model

    def identity(self) -> dict:
        """Model name and endpoint host: a local server restarted on another port keeps its cache."""
        from urllib.parse import urlsplit

        host = urlsplit(self.base_url).hostname if self.base_url else "api.openai.com"
        return {"backend": self.name, "model": self.model, "host": host}

    def params(self) -> dict:
        return {"response_format": self.response_format, "detail": self.detail, "seed": self.seed,
                "temperature": 0.0}

    def summary(self, answers: list[Answer], new: list[Answer], *, batch_size: int, batch_api: bool = False,
                **_) -> dict:
        """This backend's part of a run's result: cost (this run's, and what all ``answers`` cost when
        they were asked), tokens of every request sent (split batches included), retries and errors.
        ``new`` are the answers this run asked for."""
        price = self.price
        costs = [a.info.get("cost_usd") for a in answers]
        return {
            "batch_size": batch_size,
            "batch_api": batch_api,
            "cost_usd": None if price is None else self.budget.spent,
            "cost_usd_all_answers": None if price is None or any(c is None for c in costs) else float(sum(costs)),
            "price": None if price is None else {"usd_per_1m_in": price.usd_in, "usd_per_1m_out": price.usd_out,
                                                 "source": price.source},
            "tokens": {"prompt": self.stats.tokens_in, "completion": self.stats.tokens_out},
            "retries": self.stats.retries,
            "batch_splits": self.stats.splits,
            "errors": dict(self.stats.errors),
        }

    # -- request building --------------------------------------------------------------------------
    def _image_part(self, url: str) -> dict:
        return {"type": "image_url", "image_url": {"url": url, "detail": self.detail}}

    def messages(self, urls: list[str], prompt: PromptSpec, examples: list[tuple[str, int]]) -> list[dict]:
        msgs: list[dict] = []
        if prompt.system:
            msgs.append({"role": "system", "content": prompt.system})
        for url, label in examples:
            msgs.append({"role": "user", "content": [
                {"type": "text", "text": prompt.text(1)}, {"type": "text", "text": "image_1:"}, self._image_part(url)]})
            msgs.append({"role": "assistant", "content": json.dumps({"image_1": self.labels[label]})})
        content: list[dict] = [{"type": "text", "text": prompt.text(len(urls))}]
        for i, url in enumerate(urls):
            content += [{"type": "text", "text": f"image_{i + 1}:"}, self._image_part(url)]
        msgs.append({"role": "user", "content": content})
        return msgs

    def request_body(self, urls: list[str], prompt: PromptSpec, examples: list[tuple[str, int]]) -> dict:
        body: dict = {
            "model": self.model, "messages": self.messages(urls, prompt, examples), "temperature": 0.0,
            "seed": self.seed, "max_tokens": 32 + 32 * len(urls),
        }
        schema = label_schema(len(urls), self.labels)
        if self.response_format == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "emotions", "strict": True, "schema": schema}}
        elif self.response_format == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        return body

    def estimate_cost(self, n_images: int, prompt: PromptSpec, n_examples: int) -> float:
        if self.price is None:
            return 0.0
        est = estimate_request(self.model, prompt.text(n_images), n_images, self.image_size, self.detail, n_examples)
        if est is None:  # no image rule for this model: assume a generous 1000 tokens per image
            est = (1000 * (n_images + n_examples) + 200, 8 * n_images + 4)
        return self.price.cost(*est)

    # -- one HTTP request, with retries ----------------------------------------------------------
    def _retry_delay(self, exc: Exception, attempt: int) -> float:
        resp = getattr(exc, "response", None)
        if resp is not None:
            after = resp.headers.get("retry-after")
            try:
                if after is not None:
                    return min(float(after), self.backoff_max)
            except ValueError:
                pass
        return min(self.backoff_max, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)

    def send(self, body: dict) -> tuple[object, float]:
        """POST one chat completion; returns (response, seconds). Retries what is worth retrying."""
        oa = self._openai
        for attempt in range(self.retries + 1):
            self.stats.add(model_calls=1)
            t0 = time.perf_counter()
            try:
                resp = self.client.chat.completions.create(**body)
                return resp, time.perf_counter() - t0
            except (oa.RateLimitError, oa.InternalServerError, oa.APIConnectionError) as exc:
                err, kind = exc, ("timeout" if isinstance(exc, oa.APITimeoutError) else type(exc).__name__)
            except oa.APIStatusError as exc:
                err, kind = exc, f"HTTP {exc.status_code}"
                if not (exc.status_code in (408, 409) or exc.status_code >= 500):
                    self.stats.error(kind)
                    raise EdgeemoError(self._explain(exc)) from exc
            self.stats.error(kind)
            if attempt == self.retries:
                raise EdgeemoError(
                    f"{self.model}: gave up after {self.retries + 1} attempts ({kind}: {err}); {self.resume_hint}"
                ) from err
            self.stats.add(retries=1)
            delay = self._retry_delay(err, attempt)
            what = f"no answer within {self.timeout:g} s" if kind == "timeout" else kind
            self.log(f"{self.model} at {self.base_url or 'api.openai.com'}: {what}; retry {attempt + 1} of "
                     f"{self.retries} in {delay:.1f} s (--timeout and --retries set this)")
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain(self, exc) -> str:
        msg = f"{self.model}: the endpoint answered HTTP {exc.status_code}: {getattr(exc, 'message', exc)}"
        if exc.status_code == 401:
            return f"{self.model}: the API key in {KEY_ENV} was rejected (HTTP 401)"
        if exc.status_code in (400, 422) and "response_format" in str(exc):
            msg += " — this endpoint may not support this --response-format; try json_object or none"
        return msg

    # -- a batch of images, split on mismatch ------------------------------------------------------
    def usage_cost(self, resp) -> tuple[int, int, float | None]:
        """Tokens in, tokens out and cost of one response (also added to the run's totals)."""
        usage = getattr(resp, "usage", None)
        t_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        t_out = int(getattr(usage, "completion_tokens", 0) or 0)
        self.stats.add(tokens_in=t_in, tokens_out=t_out)
        return t_in, t_out, (self.price.cost(t_in, t_out) if self.price else None)

    def classify_batch(self, urls: list[str], prompt: PromptSpec,
                       examples: list[tuple[str, int]] | None = None) -> list[Answer]:
        """One answer per URL, in order (several requests if the batch has to be split)."""
        examples = examples or []
        body = self.request_body(urls, prompt, examples)
        estimate = self.estimate_cost(len(urls), prompt, len(examples))
        self.budget.reserve(estimate)
        cost = None
        try:
            resp, seconds = self.send(body)
            t_in, t_out, cost = self.usage_cost(resp)
        finally:
            self.budget.settle(estimate, cost)
        return self.answers_from(resp, seconds, urls, prompt, examples, (t_in, t_out, cost))

    def answers_from(self, resp, seconds: float, urls: list[str], prompt: PromptSpec,
                     examples: list[tuple[str, int]], usage: tuple[int, int, float | None]) -> list[Answer]:
        """Answers from one chat-completion response; a mismatched or refused batch is split and asked again."""
        choice = resp.choices[0]
        msg = choice.message
        text = msg.content
        refused = bool(getattr(msg, "refusal", None)) or choice.finish_reason == "content_filter"
        parsed = None if refused else parse_batch(text, len(urls), self.labels)
        if parsed is None and len(urls) > 1:
            self.stats.add(splits=1)
            half = len(urls) // 2
            return (self.classify_batch(urls[:half], prompt, examples)
                    + self.classify_batch(urls[half:], prompt, examples))
        if parsed is None:
            parsed = [(-1, REFUSAL)] if refused else [parse_label(text, self.labels)]
        n = len(urls)
        t_in, t_out, cost = usage
        share = {"prompt_tokens": t_in / n, "completion_tokens": t_out / n,
                 "cost_usd": None if cost is None else cost / n, "request_images": n}
        raw = msg.refusal if refused and getattr(msg, "refusal", None) else text
        return [Answer(lab, status, raw, seconds / n, dict(share)) for lab, status in parsed]
