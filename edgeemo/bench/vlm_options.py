"""Vision-LLM rows of ``edgeemo bench`` as the user writes them: ``--vlm llava:MODEL.gguf:MMPROJ.gguf``,
``--vlm openai:MODEL`` or ``--vlm published:ANSWERS.csv``, with options from the profile's ``[vlm]``
table and ``--vlm-opt KEY=VALUE`` (the option schema lives here, so profiles and the row runner both
read it without importing each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import EdgeemoError

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
