"""Vision-LLM rows for ``edgeemo bench``: LLaVA through llama.cpp or a model behind an
OpenAI-compatible API, scored zero-shot on the same faces as the trained models.

A row is written ``llava:MODEL.gguf:MMPROJ.gguf`` or ``openai:MODEL`` (``--vlm``); options come
from the profile's ``[vlm]`` table and ``--vlm-opt KEY=VALUE``. Each row is measured in its own
``python -m edgeemo.bench.vlm_worker`` process, like the trained models' rows, so its peak memory
is its own. llama.cpp rows always ask the model (latency is measured, never read from a cache);
API rows reuse the response cache unless ``--vlm-refresh``, because every request costs money.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

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
    )


def run_vlm_row(spec: VlmSpec, faces: str | None, *, cache: str | None, refresh: bool, timeout_s: float,
                threads: int | None = None) -> dict:
    """Measure one vision-LLM row in a fresh process; a failure becomes the row's status and reason."""
    rec = base_record(spec)
    options = spec.options
    if faces is None:
        rec.update(status="skipped", reason="a vision-LLM row needs labelled faces: pass --data fer2013.npz")
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
