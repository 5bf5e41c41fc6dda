"""``edgeemo vlm-eval``: score a vision LLM zero-/few-shot with the metrics of ``edgeemo eval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import EdgeemoError
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
        *(f"{lat[k]:.1f} ms" if k in lat else "—" for k in ("p50", "p90")),
        f"{res['tokens']['prompt']}/{res['tokens']['completion']}",
        "unknown" if cost is None else f"${cost:.4f}",
    )
    console.print(t)
    if res["cache_hits"] and lat:
        console.print(f"{res['cache_hits']} of {res['n']} answers came from the response cache; their latency is "
                      "the one recorded when they were asked (--refresh asks again)", soft_wrap=True)
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


def _print_published(res: dict, console) -> None:
    from rich.table import Table

    t = Table(title="published answers")
    t.add_column("")
    t.add_column("rows", justify="right")
    for what, value in (
        (f"answer rows in {Path(res['answers_file']).name}", res["answer_rows"]),
        (f"faces of {res['split']} matched by {res['match_on']}", f"{res['matched']} of {res['faces_in_split']}"),
        ("faces without an answer (not scored)", res["faces_without_answer"]),
        ("answer rows naming no face", res["answers_without_face"]),
        ("answer rows for faces without a label in this label set", res["answers_for_unlabelled_faces"]),
        ("invalid first answers (counted wrong)", f"{res['invalid_answers']} ({100 * res['invalid_rate']:.1f}%)"),
        ("answers considered per face (top-k)", res["top_k"]),
    ):
        t.add_row(what, str(value))
    console.print(t)
    if res["answers_outside_classes"]:
        words = ", ".join(f"{w} {n}" for w, n in res["answers_outside_classes"].items())
        console.print(f"first answers outside the 7 classes (counted wrong): {words}")
    for what, key in (("faces without an answer", "faces_without_answer_first"),
                      ("answer rows naming no face", "answers_without_face_first")):
        if res[key]:
            console.print(f"{what} (first {len(res[key])}): {', '.join(res[key])}")
    if res["skipped_rows"]:
        console.print("skipped answer rows: " + ", ".join(f"{k}: {v}" for k, v in res["skipped_rows"].items()))
    for why, n in (res.get("left_out_by_file_label") or {}).items():
        console.print(f"left out of the scores: {n} faces whose {why} (edgeemo scores 7 classes)")
    agree = res.get("file_label_agreement")
    if agree:
        console.print(f"first answer = the file's own label on all {agree['rows']} matched rows, over its classes "
                      f"({', '.join(agree['classes'])}): {agree['first_answer_matches']} ({agree['rate']:.4f})")
    if "side_by_side" in res:
        _print_side_by_side(res["side_by_side"], console)


def _print_side_by_side(sbs: dict, console) -> None:
    from rich.table import Table

    ref, other = sbs["reference"], sbs["other"]
    a, b = sbs["metrics"][ref], sbs["metrics"][other]
    t = Table(title=f"side by side on the same {sbs['n']} faces")
    for col in ("", ref, other):
        t.add_column(col, justify="right" if col else "left")
    for name, key in (("accuracy", "accuracy"), ("balanced acc.", "balanced_accuracy"), ("macro F1", "macro_f1")):
        t.add_row(name, f"{a[key]:.4f}", f"{b[key]:.4f}")
    for c in a["per_class_f1"]:
        t.add_row(f"F1 {c}", f"{a['per_class_f1'][c]:.3f}", f"{b['per_class_f1'][c]:.3f}")
    console.print(t)
    lo, hi = sbs["accuracy_delta_ci95"]
    d = sbs["discordant"]
    console.print(f"{other} − {ref}: {100 * sbs['accuracy_delta']:+.2f} pt (95% CI {100 * lo:+.2f}, {100 * hi:+.2f}); "
                  f"McNemar p = {sbs['mcnemar_p']:.3g} (right only by {ref}: {d['ref_only']}, only by {other}: "
                  f"{d['new_only']}); same answer on {100 * sbs['agreement_top1']:.2f}% of the faces")


def _published(answers, data, labels, split, limit, key_column, answer_column, gt_column, separator, match_on,
               top_k, name, against, threads, console) -> dict:
    from .published import evaluate_published

    if not answers:
        raise EdgeemoError("--backend published needs --answers FILE.csv (the published answers, one row per face)")
    res = evaluate_published(answers, data, labels=labels, split=None if split == "all" else split, limit=limit,
                             key_column=key_column, answer_column=answer_column, gt_column=gt_column or None,
                             separator=separator, match_on=match_on, top_k=top_k, name=name, against=against,
                             threads=threads)
    from ..report import print_metrics

    print_metrics(res, console)
    _print_published(res, console)
    return res


@click.command("vlm-eval")
@click.option("--backend", type=click.Choice(["llava", "openai", "published"]), required=True,
              help="llava (llama.cpp), openai (an OpenAI-compatible API), or published: answers read from a file.")
@click.option("--model", default=None,
              help="llava: the text model GGUF; openai: a model name (gpt-4o, gpt-4.1, ...); not for published.")
@click.option("--mmproj", type=click.Path(), default=None, help="llava: the vision projector GGUF.")
@click.option("--data", required=True, type=click.Path(), help="fer2013.npz, Kaggle fer2013.csv or an image folder.")
@click.option("--split", default="auto", show_default=True,
              help="Training, PublicTest, PrivateTest or all; auto = PrivateTest when the data has splits.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N faces.")
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
@click.option("--labels", type=click.Choice(["fer2013", "ferplus", "answers"]), default="fer2013", show_default=True,
              help="Score against FER2013's labels, the FER+ majority (faces without one left out), or (published "
                   "only) the answers file's own label column.")
# published answers
@click.option("--answers", type=click.Path(), default=None,
              help="published: the answers CSV (one row per face: name, ranked comma-separated answers, label).")
@click.option("--key-column", default="name", show_default=True, help="published: the column naming the face.")
@click.option("--answer-column", default="gpt4v", show_default=True,
              help="published: the column with the answers (ranked, the first is the top-1).")
@click.option("--gt-column", default="gt", show_default=True,
              help="published: the file's own label column (for --labels answers; '' = none).")
@click.option("--separator", default=",", show_default=True, help="published: between ranked answers.")
@click.option("--match-on", default=None,
              help="published: the data's name array to match (ferplus_image_name, msambare_filename, filenames) "
                   "[default: the one naming the most answer rows].")
@click.option("--top-k", type=int, default=1, show_default=True,
              help="published: a face is right when its label is among the first k answers.")
@click.option("--name", "answers_name", default=None,
              help="published: the name the answers go by in the outputs [default: the file's name].")
@click.option("--against", default=None,
              help="published: also score this model (default, a registry name or a file) on the same faces, "
                   "side by side (agreement, McNemar).")
# llama.cpp
@click.option("--chat-format", default="llava-1-5", show_default=True,
              help="llava: llava-1-5, llava-1-6, mtmd (template in the GGUF), or another llama-cpp-python format.")
@click.option("--scoring", type=click.Choice(["grammar", "logprob"]), default="grammar", show_default=True,
              help="grammar: constrained greedy decoding; logprob: score every label, take the best (llava).")
@click.option("--n-ctx", type=int, default=2048, show_default=True, help="llava: context size in tokens.")
@click.option("--n-gpu-layers", type=int, default=0, show_default=True, help="llava: layers to offload (-1 = all).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="llava: CPU threads.")
@click.option("--verbose", is_flag=True, help="llava: show llama.cpp's own log.")
# API
@click.option("--base-url", default=None, help="openai: an OpenAI-compatible endpoint [default: OpenAI].")
@click.option("--batch-size", type=click.IntRange(min=1), default=20, show_default=True,
              help="openai: faces per request.")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="openai: requests in flight.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="openai: seconds per request.")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="openai: retries on 429/5xx/timeouts.")
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
             seed, labels, answers, key_column, answer_column, gt_column, separator, match_on, top_k, answers_name,
             against, chat_format, scoring, n_ctx, n_gpu_layers, threads, verbose, base_url, batch_size, concurrency,
             timeout, retries, response_format, detail, price_in, price_out, max_cost, batch_api, estimate,
             json_out, confusion_png) -> None:
    """Score a vision LLM (LLaVA via llama.cpp, an OpenAI-compatible API, or published answers) zero- or
    few-shot."""
    from ..console_log import make_console
    from ..report import print_metrics
    from .run import estimate_run, vlm_evaluate

    console = make_console()
    from ..outputs import check_output_file

    inputs = [data, answers] if answers else [data]
    check_output_file(json_out, "--json", inputs)
    png = confusion_png or (str(Path(json_out).with_suffix(".png")) if json_out else None)
    check_output_file(png, "--confusion-png", [*inputs, json_out])
    if backend == "published":
        res = _published(answers, data, labels, split, limit, key_column, answer_column, gt_column, separator,
                         match_on, top_k, answers_name, against, threads, console)
        _write_outputs(res, json_out, confusion_png, console)
        return
    if not model:
        raise EdgeemoError(f"--backend {backend} needs --model (" + (
            "the text model GGUF)" if backend == "llava" else "a model name, e.g. gpt-4o)"))
    if labels == "answers":
        raise EdgeemoError("--labels answers scores published answers against their file's labels; use it with "
                           "--backend published")
    if estimate:
        from ..selection import select_faces

        n = len(select_faces(data, split=split, limit=limit, labels=labels).faces)
        est = estimate_run(model, n, batch_size=batch_size, image_size=image_size, detail=detail, shots=shots,
                           prompt=prompt, price_in=price_in, price_out=price_out, batch_api=batch_api)
        console.print_json(json.dumps(est))
        return
    options = dict(chat_format=chat_format, scoring=scoring, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                   threads=threads, verbose=verbose) if backend == "llava" else dict(
        base_url=base_url, timeout=timeout, retries=retries, response_format=response_format, detail=detail,
        price_in=price_in, price_out=price_out, max_cost=max_cost, scoring=scoring)
    res = vlm_evaluate(
        backend, model, data, mmproj=mmproj, split=None if split == "all" else split, limit=limit, labels=labels,
        prompt=prompt,
        shots=shots, image_size=image_size, cache=None if no_cache else cache_path, refresh=refresh,
        batch_size=batch_size, concurrency=concurrency, batch_api=batch_api, seed=seed,
        progress=sys.stdout.isatty(), **options,
    )
    print_metrics(res, console)
    _print_extra(res, console)
    _write_outputs(res, json_out, confusion_png, console)


def _write_outputs(res: dict, json_out, confusion_png, console) -> None:
    from ..labels import label_set_name
    from ..report import confusion_png as draw_confusion

    if json_out:
        from ..outputs import write_text

        path = write_text(json_out, json.dumps(res, indent=2) + "\n")
        console.print(f"wrote {json_out}")
        if confusion_png is None:
            confusion_png = str(path.with_suffix(".png"))
    if confusion_png:
        title = (f"{res['model']} on {Path(res['data']).name} {res['split']}, {label_set_name(res['labels'])}: "
                 f"acc {res['accuracy']:.3f}")
        draw_confusion(res["confusion"], res["classes"], confusion_png, title[:90])
        console.print(f"wrote {confusion_png}")
