"""Vision-LLM rows for ``edgeemo bench``: LLaVA through llama.cpp, a model behind an
OpenAI-compatible API, or published answers read from a file, scored zero-shot on the same faces
as the trained models.

A row is written ``llava:MODEL.gguf:MMPROJ.gguf`` or ``openai:MODEL`` (``--vlm``); options come
from the profile's ``[vlm]`` table and ``--vlm-opt KEY=VALUE``. Each row is measured in its own
``python -m edgeemo.bench.vlm_worker`` process, like the trained models' rows, so its peak memory
is its own. llama.cpp rows always ask the model (latency is measured, never read from a cache);
API rows reuse the response cache unless ``--vlm-refresh``, because every request costs money.
Published rows are scored here, in this process: there is no model to time, so they carry
accuracy and invalid answers only (the plot draws them as a horizontal line).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import EdgeemoError
from .jobs import spawn
from .schema import VLM_KIND, empty_record
from .vlm_options import BACKEND_NAMES, VlmSpec


def base_record(spec: VlmSpec) -> dict:
    """The row's record before it is measured."""
    local = spec.backend == "llava"
    return empty_record(
        model=spec.label, model_ref=spec.text, backend=BACKEND_NAMES[spec.backend],
        device=("gpu" if spec.options.get("n_gpu_layers") else "cpu") if local else "cloud",
        precision=None, format="gguf" if local else "api", path=spec.model if local else None, kind=VLM_KIND,
    ) | ({"device": None, "format": "answers", "path": spec.model, "kind": "vision LLM, published answers"}
         if spec.backend == "published" else {})


def score_published_row(spec: VlmSpec, faces: str) -> dict:
    """A published row: the answers file matched by name to the bench's faces, scored like the other rows."""
    import numpy as np

    from ..data import FaceSet
    from ..metrics import classification_metrics
    from ..vlm.answers import match_answers, read_answers

    o = spec.options
    z = np.load(faces)
    names = {k.removeprefix("names_"): z[k] for k in z.files if k.startswith("names_")}
    fs = FaceSet(z["images"], z["labels"], np.full(len(z["labels"]), -1), faces, names=names)
    af = read_answers(spec.model, key_column=o.get("key_column", "name"),
                      answer_column=o.get("answer_column", "gpt4v"), gt_column=None)
    m = match_answers(af, fs, match_on=o.get("match_on"), top_k=o.get("top_k", 1), separator=o.get("separator", ","))
    if len(m.faces) == 0:
        return {"status": "failed", "reason": f"{spec.model}: no answer for any of the {len(fs)} faces"}
    met = classification_metrics(m.faces.labels, m.pred)
    i = m.info
    return {
        "status": "ok", "accuracy": met["accuracy"], "macro_f1": met["macro_f1"], "n": met["n"],
        "balanced_accuracy": met["balanced_accuracy"], "invalid_rate": i["invalid_rate"],
        "refusal_rate": i["refusal_rate"], "model_calls": 0, "top_k": i["top_k"],
        "faces_without_answer": i["faces_without_answer"], "answers_without_face": i["answers_without_face"],
        "answers_outside_classes": i["answers_outside_classes"], "skipped_rows": i["skipped_rows"],
        "note": (f"answers read from {Path(spec.model).name}, matched by {i['match_on']}: scored on the {met['n']} "
                 f"of {len(fs)} faces they cover; no latency, memory or cost was measured"),
    }


def run_vlm_row(spec: VlmSpec, faces: str | None, *, cache: str | None, refresh: bool, timeout_s: float,
                threads: int | None = None) -> dict:
    """Measure one vision-LLM row in a fresh process; a failure becomes the row's status and reason."""
    rec = base_record(spec)
    options = spec.options
    if faces is None:
        rec.update(status="skipped", reason="a vision-LLM row needs labelled faces: pass --data fer2013.npz")
        return rec
    if spec.backend == "published":
        try:
            rec.update(score_published_row(spec, faces))
        except EdgeemoError as exc:
            rec.update(status="failed", reason=str(exc))
        return rec
    if spec.backend == "llava":
        missing = [p for p in (spec.model, spec.mmproj) if p and not Path(p).is_file()]
        if missing:
            rec.update(status="failed", reason=f"no such GGUF file: {', '.join(missing)} (download the model and "
                                               "its mmproj, see the README's 'Vision LLMs' section)")
            return rec
        if "threads" not in options:
            options = {**options, "threads": threads or os.cpu_count() or 1}
    job = {"backend": spec.backend, "model": spec.model, "mmproj": spec.mmproj, "options": options,
           "faces": faces, "cache": None if spec.backend == "llava" else cache, "refresh": refresh}
    t0 = time.perf_counter()
    rec.update(spawn("edgeemo.bench.vlm_worker", job, timeout_s))
    rec["row_seconds"] = round(time.perf_counter() - t0, 2)
    return rec
