"""Vision-LLM rows for ``edgeemo bench``: LLaVA through llama.cpp, a model behind an
OpenAI-compatible API, or published answers read from a file, scored zero-shot on the same faces
as the trained models.

A row is written ``llava:MODEL.gguf:MMPROJ.gguf``, ``openai:MODEL`` or ``published:ANSWERS.csv``
(``--vlm``); options come
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
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import EdgeemoError
from .worker import spawn

BACKEND_NAMES = {"llava": "llama.cpp", "openai": "openai-api", "published": "published answers"}
_COMMON = {"image_size": int, "prompt": str}
OPTION_TYPES: dict[str, dict[str, type]] = {
    "llava": {**_COMMON, "chat_format": str, "scoring": str, "n_ctx": int, "n_gpu_layers": int, "threads": int},
    "openai": {**_COMMON, "base_url": str, "timeout": float, "retries": int, "response_format": str, "detail": str,
               "price_in": float, "price_out": float, "max_cost": float, "batch_size": int, "concurrency": int},
    "published": {"name": str, "key_column": str, "answer_column": str, "separator": str, "match_on": str,
                  "top_k": int},
}
ALL_OPTIONS = sorted({k for v in OPTION_TYPES.values() for k in v})


@dataclass
class VlmSpec:
    """One vision-LLM row: ``backend`` is llava or openai; ``model`` a GGUF path or an API model name."""

    backend: str
    model: str
    mmproj: str | None = None
    options: dict = field(default_factory=dict)
    text: str = ""

    @property
    def label(self) -> str:
        if self.backend == "published":
            return self.options.get("name") or Path(self.model).stem
        return Path(self.model).stem if self.backend == "llava" else self.model


def parse_vlm_spec(text: str) -> VlmSpec:
    """``llava:MODEL.gguf:MMPROJ.gguf``, ``openai:MODEL`` (e.g. ``openai:gpt-4o``) or ``published:FILE.csv``."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind == "llava":
        parts = rest.split(":")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise EdgeemoError(f"--vlm {text!r}: write llava:MODEL.gguf:MMPROJ.gguf (the text model, then its "
                               "vision projector)")
        return VlmSpec("llava", parts[0].strip(), parts[1].strip(), text=text)
    if kind == "openai":
        if not rest.strip():
            raise EdgeemoError(f"--vlm {text!r}: write openai:MODEL, e.g. openai:gpt-4o")
        return VlmSpec("openai", rest.strip(), text=text)
    if kind == "published":
        if not rest.strip():
            raise EdgeemoError(f"--vlm {text!r}: write published:ANSWERS.csv (the file of published answers)")
        return VlmSpec("published", rest.strip(), text=text)
    raise EdgeemoError(f"--vlm {text!r}: start with llava:, openai: or published: (llava:MODEL.gguf:MMPROJ.gguf, "
                       "openai:gpt-4o, published:answers.csv)")


def _coerce(key: str, value, typ: type, where: str):
    if typ is str:
        return str(value)
    try:
        if typ is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return typ(value)
    except (TypeError, ValueError):
        raise EdgeemoError(f"{where}: {key} must be {'an integer' if typ is int else 'a number'}, "
                           f"got {value!r}") from None


def vlm_options(spec: VlmSpec, profile_vlm: dict, cli_pairs: tuple[str, ...] | list[str]) -> dict:
    """The row's backend options: the profile's ``[vlm]`` table (keys that apply to this backend),
    then ``--vlm-opt KEY=VALUE`` on top. Unknown keys are an error naming the allowed ones.
    :func:`with_options` puts them on the spec."""
    types = OPTION_TYPES[spec.backend]
    out = {k: _coerce(k, v, types[k], "[vlm] in the device profile") for k, v in profile_vlm.items() if k in types}
    for pair in cli_pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise EdgeemoError(f"--vlm-opt {pair!r}: write KEY=VALUE, e.g. n_gpu_layers=-1")
        if key not in ALL_OPTIONS:
            raise EdgeemoError(f"--vlm-opt {key}: unknown option; choose from {', '.join(ALL_OPTIONS)}")
        if key in types:  # an option of the other backend is simply not this row's
            out[key] = _coerce(key, value.strip(), types[key], f"--vlm-opt {key}")
    return out


def with_options(spec: VlmSpec, profile_vlm: dict, cli_pairs: tuple[str, ...] | list[str]) -> VlmSpec:
    return replace(spec, options=vlm_options(spec, profile_vlm, cli_pairs))


def base_record(spec: VlmSpec) -> dict:
    from .runner import RECORD_KEYS

    rec = {k: None for k in RECORD_KEYS}
    local = spec.backend == "llava"
    rec.update({
        "model": spec.label, "model_ref": spec.text, "backend": BACKEND_NAMES[spec.backend],
        "device": ("gpu" if spec.options.get("n_gpu_layers") else "cpu") if local else "cloud",
        "precision": None, "format": "gguf" if local else "api", "path": spec.model if local else None,
        "kind": "vision LLM, zero-shot", "n": 0,
    })
    if spec.backend == "published":
        rec.update(device=None, format="answers", path=spec.model, kind="vision LLM, published answers")
    return rec


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
