"""``edgeemo vlm-eval``: score a vision LLM zero-/few-shot with the metrics of ``edgeemo eval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cache import DEFAULT_CACHE
from .images import DEFAULT_SIZE


def _print_extra(res: dict, console) -> None:
    from ..report import table

    t = table("vision LLM", ("invalid", "refused", "model calls", "cache hits", "latency/img p50", "p90",
                             "tokens in/out", "cost"))
    lat = res.get("latency") or {}
    cost = res.get("cost_usd")
    t.add_row(
        f"{res['invalid_answers']} ({100 * res['invalid_rate']:.1f}%)",
        f"{res['refusals']} ({100 * res['refusal_rate']:.1f}%)",
        str(res["model_calls"]), str(res["cache_hits"]),
        f"{lat.get('p50', float('nan')):.1f} ms", f"{lat.get('p90', float('nan')):.1f} ms",
        f"{res['tokens']['prompt']}/{res['tokens']['completion']}",
        "unknown" if cost is None else f"${cost:.4f}",
    )
    console.print(t)
    if "llama_cpp" in res:
        lc = res["llama_cpp"]
        ttft, tps = res.get("ttft_s"), res.get("tokens_per_s")
        if not lc.get("loaded"):
            console.print("llama.cpp: every answer came from the cache; the model was not loaded")
            return
        console.print(
            f"llama.cpp: load {lc['load_s']:.2f} s, peak RSS {lc['peak_rss_mb']:.0f} MB, "
            f"time to first token {'-' if ttft is None else f'{ttft:.3f} s'}, "
            f"decode {'-' if tps is None else f'{tps:.1f} tok/s'}"
        )


@click.command("vlm-eval")
@click.option("--backend", type=click.Choice(["llava", "openai"]), required=True)
@click.option("--model", required=True, help="llava: the text model GGUF; openai: a model name (gpt-4o, gpt-4.1, ...).")
@click.option("--mmproj", type=click.Path(), default=None, help="llava: the vision projector GGUF.")
@click.option("--data", required=True, type=click.Path(), help="fer2013.npz, Kaggle fer2013.csv or an image folder.")
@click.option("--split", default="auto", show_default=True,
              help="Training, PublicTest, PrivateTest or all; auto = PrivateTest when the data has splits.")
@click.option("--limit", type=int, default=None, help="Score only the first N faces.")
@click.option("--prompt", "prompt", type=click.Path(), default=None,
              help="Prompt template file ($labels, $n) [default: the shipped 'single' (llava) or 'batch' (openai)].")
@click.option("--shots", type=int, default=0, show_default=True, help="Few-shot: labelled Training faces per class.")
@click.option("--image-size", type=int, default=DEFAULT_SIZE, show_default=True,
              help="Faces are upscaled (bicubic) to this square size, gray copied to RGB.")
@click.option("--cache", "cache_path", type=click.Path(), default=str(DEFAULT_CACHE), show_default=True,
              help="SQLite response cache (re-runs and resumes cost nothing).")
@click.option("--no-cache", is_flag=True, help="Keep answers in memory only.")
@click.option("--refresh", is_flag=True, help="Ask the model again even for cached answers (and overwrite them).")
@click.option("--seed", type=int, default=0, show_default=True)
# llama.cpp
@click.option("--chat-format", default="llava-1-5", show_default=True,
              help="llava: llava-1-5, llava-1-6, mtmd (template in the GGUF), or another llama-cpp-python format.")
@click.option("--scoring", type=click.Choice(["grammar", "logprob"]), default="grammar", show_default=True,
              help="grammar: constrained greedy decoding; logprob: score every label, take the best (llava).")
@click.option("--n-ctx", type=int, default=2048, show_default=True, help="llava: context size in tokens.")
@click.option("--n-gpu-layers", type=int, default=0, show_default=True, help="llava: layers to offload (-1 = all).")
@click.option("--threads", type=int, default=None, help="llava: CPU threads.")
@click.option("--verbose", is_flag=True, help="llava: show llama.cpp's own log.")
# API
@click.option("--base-url", default=None, help="openai: an OpenAI-compatible endpoint [default: OpenAI].")
@click.option("--batch-size", type=int, default=20, show_default=True, help="openai: faces per request.")
@click.option("--concurrency", type=int, default=4, show_default=True, help="openai: requests in flight.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="openai: seconds per request.")
@click.option("--retries", type=int, default=5, show_default=True, help="openai: retries on 429/5xx/timeouts.")
@click.option("--response-format", type=click.Choice(["json_schema", "json_object", "none"]), default="json_schema",
              show_default=True, help="openai: json_schema (OpenAI, llama-server, vLLM), json_object "
                                      "(llama-cpp-python's server), none.")
@click.option("--detail", type=click.Choice(["low", "high", "auto"]), default="low", show_default=True,
              help="openai: image detail (low = 85 tokens per face on gpt-4o).")
@click.option("--price-in", type=float, default=None, help="openai: USD per 1M input tokens (overrides the table).")
@click.option("--price-out", type=float, default=None, help="openai: USD per 1M output tokens.")
@click.option("--max-cost", type=float, default=None, help="openai: stop before spending more than this (USD).")
@click.option("--batch-api", is_flag=True, help="openai: submit one OpenAI Batch API job (-50%, within 24 h).")
@click.option("--estimate", is_flag=True, help="openai: print the expected requests, tokens and cost, send nothing.")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the results as JSON.")
@click.option("--confusion-png", type=click.Path(), default=None,
              help="Confusion-matrix PNG [default: beside --json, else none].")
def vlm_eval(backend, model, mmproj, data, split, limit, prompt, shots, image_size, cache_path, no_cache, refresh,
             seed, chat_format, scoring, n_ctx, n_gpu_layers, threads, verbose, base_url, batch_size, concurrency,
             timeout, retries, response_format, detail, price_in, price_out, max_cost, batch_api, estimate,
             json_out, confusion_png) -> None:
    """Score a vision LLM (LLaVA via llama.cpp, or an OpenAI-compatible API) zero- or few-shot."""
    from ..console_log import make_console
    from ..report import confusion_png as draw_confusion
    from ..report import print_metrics
    from .run import estimate_run, vlm_evaluate

    console = make_console()
    if estimate:
        from ..selection import select_faces

        n = len(select_faces(data, split=split, limit=limit).faces)
        est = estimate_run(model, n, batch_size=batch_size, image_size=image_size, detail=detail, shots=shots,
                           prompt=prompt, price_in=price_in, price_out=price_out, batch_api=batch_api)
        console.print_json(json.dumps(est))
        return
    options = dict(chat_format=chat_format, scoring=scoring, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                   threads=threads, verbose=verbose) if backend == "llava" else dict(
        base_url=base_url, timeout=timeout, retries=retries, response_format=response_format, detail=detail,
        price_in=price_in, price_out=price_out, max_cost=max_cost, scoring=scoring)
    res = vlm_evaluate(
        backend, model, data, mmproj=mmproj, split=None if split == "all" else split, limit=limit, prompt=prompt,
        shots=shots, image_size=image_size, cache=None if no_cache else cache_path, refresh=refresh,
        batch_size=batch_size, concurrency=concurrency, batch_api=batch_api, seed=seed,
        progress=sys.stdout.isatty(), **options,
    )
    print_metrics(res, console)
    _print_extra(res, console)
    if json_out:
        path = Path(json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(res, indent=2) + "\n")
        console.print(f"wrote {json_out}")
        if confusion_png is None:
            confusion_png = str(path.with_suffix(".png"))
    if confusion_png:
        title = f"{res['model']} on {Path(res['data']).name} {res['split']}: acc {res['accuracy']:.3f}"
        draw_confusion(res["confusion"], res["classes"], confusion_png, title)
        console.print(f"wrote {confusion_png}")
