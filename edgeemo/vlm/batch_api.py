"""The OpenAI Batch API for large runs: half the price, answers within 24 hours.

All requests of a run go into one JSONL file, which is uploaded and submitted as one batch job.
The job id is kept in the response cache, so an interrupted run polls the same job instead of
paying for a second one. Finished answers are parsed exactly like synchronous ones; a request
whose answer does not match its images is split and asked again synchronously.
"""

from __future__ import annotations

import io
import json
import time

from ..errors import EdgeemoError
from .cache import ResponseCache, cache_key
from .images import data_url, to_rgb

POLL_S = 30.0
FINAL_STATES = ("completed", "failed", "expired", "cancelled")


def _wait(client, store: ResponseCache, job_key: str, job_id: str, poll_s: float, max_wait_s: float | None):
    """Poll the job until it reaches a final state (its state kept in the cache), or give up after ``max_wait_s``."""
    t0 = time.monotonic()
    while True:
        job = client.batches.retrieve(job_id)
        store.put_job(job_key, job_id, job.status)
        if job.status in FINAL_STATES:
            return job
        if max_wait_s is not None and time.monotonic() - t0 > max_wait_s:
            raise EdgeemoError(f"Batch API job {job_id} is still {job.status}; run the same command later to collect")
        time.sleep(poll_s)


def run_batch_api(be, fs, todo, spec, ex_imgs, ex_labels, image_size: int, batch_size: int, keys: list[str],
                  store: ResponseCache, save, poll_s: float = POLL_S, max_wait_s: float | None = None) -> None:
    """Submit (or resume) one Batch API job for the faces in ``todo`` and save every answer."""
    ex = [(data_url(to_rgb(im, image_size)), int(lab)) for im, lab in zip(ex_imgs, ex_labels)]
    groups = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    lines, bodies = [], {}
    for g in groups:
        urls = [data_url(to_rgb(fs.images[i], image_size)) for i in g]
        custom_id = cache_key(images=[keys[i] for i in g])[:32]
        bodies[custom_id] = (g, urls)
        lines.append(json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                                 "body": be.request_body(urls, spec, ex)}))
    job_key = cache_key(batch_job=sorted(bodies))
    estimate = sum(be.estimate_cost(len(g), spec, len(ex)) for g in groups)
    client = be.client
    known = store.get_job(job_key)
    reserved = 0.0
    if known is None or known[1] in ("failed", "expired", "cancelled"):
        be.budget.reserve(estimate)
        reserved = estimate
        upload = client.files.create(file=("edgeemo-batch.jsonl", io.BytesIO("\n".join(lines).encode())),
                                     purpose="batch")
        job = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                    completion_window="24h")
        be.stats.add(model_calls=1)
        store.put_job(job_key, job.id, job.status)
        job_id = job.id
    else:
        job_id = known[0]
    t0 = time.monotonic()
    job = _wait(client, store, job_key, job_id, poll_s, max_wait_s)
    if job.status != "completed" or not job.output_file_id:
        raise EdgeemoError(f"Batch API job {job_id} ended as {job.status}; run again to submit a new job")
    seconds = time.monotonic() - t0
    from openai.types.chat import ChatCompletion

    done = set()
    for line in client.files.content(job.output_file_id).text.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        cid = item.get("custom_id")
        resp = (item.get("response") or {})
        if cid not in bodies or resp.get("status_code") != 200:
            continue
        g, urls = bodies[cid]
        completion = ChatCompletion.model_validate(resp["body"])
        usage = be.usage_cost(completion)
        be.budget.settle(0.0, usage[2])
        for i, ans in zip(g, be.answers_from(completion, seconds / max(len(todo), 1) * len(g), urls, spec, ex, usage)):
            save(i, ans)
        done.add(cid)
    if reserved:
        be.budget.settle(reserved, None)
    missing = [cid for cid in bodies if cid not in done]
    for cid in missing:  # failed lines: ask synchronously
        g, urls = bodies[cid]
        for i, ans in zip(g, be.classify_batch(urls, spec, ex)):
            save(i, ans)
