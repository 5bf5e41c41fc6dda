"""Score a vision LLM zero- or few-shot on a labelled face set, like :func:`edgeemo.evaluate.evaluate`.

:func:`vlm_evaluate` loads the faces, asks the model (or the response cache) for every one,
and returns the same metrics as ``edgeemo eval`` plus invalid/refusal rates, latency, tokens,
cost and, for llama.cpp, load time and peak memory.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import FaceSet
from ..errors import DataError, EdgeemoError
from ..labels import CLASSES, label_set_name
from ..metrics import classification_metrics
from ..selection import select_faces
from ..timing import summarize_seconds
from .cache import DEFAULT_CACHE, Answer, ResponseCache, cache_key
from .images import DEFAULT_SIZE, data_url, image_hash, to_rgb
from .parse import INVALID, REFUSAL
from .pricing import estimate_request, price_for
from .prompts import Example, PromptSpec, load_template

BACKENDS = ("llava", "openai")
CACHE_VERSION = 1


def pick_examples(fs: FaceSet, shots: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``shots`` labelled faces per class from the Training split (never from the evaluated rows)."""
    if (fs.split == 0).sum() == 0:
        raise DataError(f"{fs.source}: few-shot examples come from the Training split, and this data has none")
    pool = fs.get_split("Training")
    rng = np.random.default_rng(seed)
    idx = []
    for c in range(len(CLASSES)):
        members = np.flatnonzero(pool.labels == c)
        if len(members) < shots:
            raise DataError(f"{fs.source}: Training has only {len(members)} '{CLASSES[c]}' faces, fewer than --shots")
        idx += sorted(rng.choice(members, size=shots, replace=False).tolist())
    idx_arr = np.asarray(idx, dtype=np.int64)
    return pool.images[idx_arr], pool.labels[idx_arr]


def make_backend(backend: str, model: str, **kw):
    """Construct a backend by name with the options that apply to it."""
    if backend == "llava":
        from .llava import LlavaBackend

        if not kw.get("mmproj"):
            raise EdgeemoError("--backend llava needs --mmproj PATH.gguf (the vision projector of the model)")
        keys = ("chat_format", "scoring", "n_ctx", "n_gpu_layers", "threads", "max_tokens", "seed", "verbose")
        return LlavaBackend(model, kw["mmproj"], **{k: kw[k] for k in keys if k in kw})
    if backend == "openai":
        from .openai_backend import OpenAIBackend

        if kw.get("scoring", "grammar") != "grammar":
            raise EdgeemoError("--scoring logprob is available for --backend llava only")
        keys = ("base_url", "timeout", "retries", "backoff", "backoff_max", "response_format", "detail", "seed",
                "image_size", "max_cost")
        price = price_for(model, kw.get("price_in"), kw.get("price_out"), batch_api=bool(kw.get("batch_api")))
        return OpenAIBackend(model, price=price, **{k: kw[k] for k in keys if k in kw})
    raise EdgeemoError(f"unknown VLM backend {backend!r}; use {' or '.join(BACKENDS)}")


def vlm_evaluate(
    backend: str,
    model: str | Path,
    data: str | Path | FaceSet,
    *,
    mmproj: str | Path | None = None,
    split: str | None = "auto",
    limit: int | None = None,
    labels: str = "fer2013",
    prompt: str | Path | None = None,
    shots: int = 0,
    image_size: int = DEFAULT_SIZE,
    cache: str | Path | None = DEFAULT_CACHE,
    refresh: bool = False,
    batch_size: int = 20,
    concurrency: int = 4,
    batch_api: bool = False,
    batch_poll_s: float = 30.0,
    seed: int = 0,
    progress: bool = False,
    **backend_options,
) -> dict:
    """Evaluate a vision LLM; see ``edgeemo vlm-eval --help`` for every option.

    ``backend_options`` go to the backend: ``chat_format``, ``scoring``, ``n_ctx``, ``n_gpu_layers``,
    ``threads``, ``max_tokens``, ``verbose`` (llava); ``base_url``, ``timeout``, ``retries``, ``backoff``,
    ``response_format``, ``detail``, ``price_in``, ``price_out``, ``max_cost`` (openai).
    ``cache=None`` keeps answers in memory only.
    """
    t_start = time.perf_counter()
    sel = select_faces(data, split=split, limit=limit, labels=labels)
    if batch_size < 1 or concurrency < 1:
        raise EdgeemoError("--batch-size and --concurrency must be at least 1")
    ex_imgs, ex_labels = pick_examples(sel.full, shots, seed) if shots else (np.zeros((0, 1, 1), np.uint8), [])
    be = make_backend(backend, str(model), mmproj=mmproj, seed=seed, image_size=image_size,
                      batch_api=batch_api, **backend_options)
    be.resume_hint = RESUME_HINT if cache is not None else NO_CACHE_HINT
    store: ResponseCache | None = None
    try:
        spec, template_name, batch_size = _prompt_for(be, prompt, ex_imgs, ex_labels, batch_size)
        store = ResponseCache(cache if cache is not None else ":memory:")
        ask = _Ask(be, sel.faces, spec, ex_imgs, ex_labels, image_size, batch_size, concurrency, progress)
        answers, keys = _cached_answers(ask, store, refresh)
        todo = [i for i, a in enumerate(answers) if a is None]
        _ask_model(ask, todo, answers, keys, store, batch_api, batch_poll_s)
        final: list[Answer] = [a for a in answers if a is not None]
        if len(final) != len(sel.faces):  # pragma: no cover - every path fills every answer or raises
            raise EdgeemoError("some faces got no answer; run again to resume")
        res = classification_metrics(sel.faces.labels, np.array([a.label for a in final], dtype=np.int64))
        new = [final[i] for i in todo]
        res.update(_summary(ask, final, todo, sel, template_name, shots, store, t_start))
        res.update(be.summary(final, new, batch_size=ask.batch_size, batch_api=batch_api))
        return res
    finally:
        if store is not None:
            store.close()
        if hasattr(be, "close"):
            be.close()


def _prompt_for(be, prompt: str | Path | None, ex_imgs: np.ndarray, ex_labels,
                batch_size: int) -> tuple[PromptSpec, str, int]:
    """The prompt, its template's name and the faces per prompt: a backend asked one face at a time
    gets the single-face template, the others the batch one with ``batch_size`` faces."""
    template_name = str(prompt) if prompt else ("single" if be.one_face_per_prompt else "batch")
    return _prompt_spec(template_name, ex_imgs, ex_labels), template_name, 1 if be.one_face_per_prompt else batch_size


def _prompt_spec(template_name: str, ex_imgs: np.ndarray, ex_labels) -> PromptSpec:
    spec = PromptSpec(load_template(template_name), CLASSES,
                      [Example(image_hash(im), int(lab)) for im, lab in zip(ex_imgs, ex_labels)])
    spec.text(1)  # fail early on a bad template
    return spec


RESUME_HINT = "answers so far are cached: run again to resume"
NO_CACHE_HINT = "answers were kept in memory only (--no-cache), so a new run starts over"


@dataclass
class _Ask:
    """What asking the model for a set of faces needs."""

    be: object
    fs: FaceSet
    spec: PromptSpec
    ex_imgs: np.ndarray
    ex_labels: list | np.ndarray
    image_size: int
    batch_size: int
    concurrency: int
    progress: bool


def _cached_answers(ask: _Ask, store: ResponseCache, refresh: bool) -> tuple[list[Answer | None], list[str]]:
    """One cache key per face, and the answers the cache already holds for them (none with ``refresh``)."""
    params = {**ask.be.params(), "image_size": ask.image_size, "batch_size": ask.batch_size}
    ident, pfp = ask.be.identity(), ask.spec.fingerprint()
    keys = [cache_key(v=CACHE_VERSION, id=ident, prompt=pfp, image=image_hash(im), params=params)
            for im in ask.fs.images]
    answers: list[Answer | None] = [None] * len(keys)
    if not refresh:
        hit = store.get_many(keys)
        answers = [hit.get(k) for k in keys]
    return answers, keys


def _ask_model(ask: _Ask, todo: list[int], answers: list, keys: list[str], store: ResponseCache, batch_api: bool,
               batch_poll_s: float) -> None:
    """Ask for every face in ``todo``, saving each answer (in ``answers`` and the cache) as it comes."""

    def save(i: int, ans: Answer) -> None:
        answers[i] = ans
        store.put(keys[i], ans, model=ask.be.model_name, image_hash=image_hash(ask.fs.images[i]))

    if ask.be.one_face_per_prompt:
        _run_local(ask.be, ask.fs, todo, ask.spec, ask.ex_imgs, ask.image_size, save, ask.progress)
    elif batch_api and todo:
        from .batch_api import run_batch_api

        run_batch_api(ask.be, ask.fs, todo, ask.spec, ask.ex_imgs, ask.ex_labels, ask.image_size, ask.batch_size,
                      keys, store, save, poll_s=batch_poll_s)
    else:
        _run_api(ask.be, ask.fs, todo, ask.spec, ask.ex_imgs, ask.ex_labels, ask.image_size, ask.batch_size,
                 ask.concurrency, save, ask.progress)


def _run_local(be, fs, todo, spec, ex_imgs, image_size, save, progress) -> None:
    ex_rgb = [to_rgb(im, image_size) for im in ex_imgs]
    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"{be.name}", total=len(todo))
        for i in todo:
            save(i, be.classify(to_rgb(fs.images[i], image_size), spec, ex_rgb))
            bar.advance(task)


def _run_api(be, fs, todo, spec, ex_imgs, ex_labels, image_size, batch_size, concurrency, save, progress) -> None:
    from rich.progress import Progress

    ex = [(data_url(to_rgb(im, image_size)), int(lab)) for im, lab in zip(ex_imgs, ex_labels)]
    batches = iter([todo[i:i + batch_size] for i in range(0, len(todo), batch_size)])
    stop: EdgeemoError | None = None
    pool = ThreadPoolExecutor(max_workers=concurrency)
    running: dict = {}

    def submit() -> bool:
        batch = next(batches, None)
        if batch is None:
            return False
        urls = [data_url(to_rgb(fs.images[i], image_size)) for i in batch]
        running[pool.submit(be.classify_batch, urls, spec, ex)] = batch
        return True

    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"{be.name}", total=len(todo))
            while len(running) < concurrency and submit():
                pass
            while running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    batch = running.pop(fut)
                    try:
                        for i, ans in zip(batch, fut.result()):
                            save(i, ans)
                        bar.advance(task, len(batch))
                    except EdgeemoError as exc:
                        stop = stop or exc
                while stop is None and len(running) < concurrency and submit():
                    pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if stop is not None:
        raise stop


def _summary(ask: _Ask, final: list[Answer], todo: list[int], sel, template_name: str, shots: int,
             store: ResponseCache, t_start: float) -> dict:
    """What every backend reports: answers, their statuses and latency, calls and cache use."""
    n = len(final)
    statuses = [a.status for a in final]
    new = [final[i] for i in todo]
    latencies = [a.latency_s for a in final if a.latency_s is not None]
    return {
        "model": ask.be.model_name,
        "backend": ask.be.name,
        "data": sel.faces.source,
        "split": sel.split,
        "labels": sel.labels,
        "labels_description": label_set_name(sel.labels),
        "dropped": sel.faces.dropped,
        "prompt": template_name,
        "shots": shots,
        "image_size": ask.image_size,
        **ask.be.params(),
        "invalid_answers": statuses.count(INVALID),
        "refusals": statuses.count(REFUSAL),
        "invalid_rate": statuses.count(INVALID) / n,
        "refusal_rate": statuses.count(REFUSAL) / n,
        "model_calls": ask.be.model_calls,
        "cache_hits": n - len(todo),
        "new_answers": len(todo),
        "cache": str(store.path),
        "latency": summarize_seconds(latencies) if latencies else None,
        "first_answer_s": new[0].latency_s if new else None,
        "tokens": {
            "prompt": int(round(sum(a.info.get("prompt_tokens") or 0 for a in new))),
            "completion": int(round(sum(a.info.get("completion_tokens") or 0 for a in new))),
        },
        "seconds": time.perf_counter() - t_start,
    }


def estimate_run(model: str, n_images: int, *, batch_size: int = 20, image_size: int = DEFAULT_SIZE,
                 detail: str = "low", shots: int = 0, prompt: str | Path | None = None,
                 price_in: float | None = None, price_out: float | None = None, batch_api: bool = False) -> dict:
    """Expected requests, tokens and cost of an API run over ``n_images`` faces (nothing is sent)."""
    spec = PromptSpec(load_template(str(prompt) if prompt else "batch"))
    n_req = -(-n_images // batch_size)
    tok_in = tok_out = 0
    for r in range(n_req):
        k = min(batch_size, n_images - r * batch_size)
        est = estimate_request(model, spec.text(k), k, image_size, detail, shots * len(CLASSES))
        if est is None:
            return {"model": model, "requests": n_req, "tokens_in": None, "tokens_out": None, "cost_usd": None}
        tok_in, tok_out = tok_in + est[0], tok_out + est[1]
    price = price_for(model, price_in, price_out, batch_api=batch_api)
    return {"model": model, "images": n_images, "requests": n_req, "tokens_in": tok_in, "tokens_out": tok_out,
            "cost_usd": None if price is None else price.cost(tok_in, tok_out),
            "price_source": None if price is None else price.source}
