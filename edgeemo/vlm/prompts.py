"""Prompt templates for zero- and few-shot emotion questions.

Two templates ship with edgeemo (``edgeemo/prompts/*.txt``):

* ``single`` — one face, answer one word (used for llama.cpp, where a grammar forces the word);
* ``batch`` — ``$n`` faces in one request, answer a JSON object ``{"image_1": label, ...}``
  (used for the API, as Lian et al. 2024 sent several images per request).

A template is plain text with ``$labels`` (the allowed words, comma-separated) and ``$n``
(images in the request) as placeholders; ``--prompt FILE`` replaces the default with your own.
Few-shot runs put k labelled examples per class before the question, each as an earlier
user turn (image + the same template with ``$n`` = 1) answered by the assistant.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import EdgeemoError
from ..labels import CLASSES

PLACEHOLDERS = ("labels", "n")


class PromptError(EdgeemoError):
    """A prompt template could not be read or filled in."""


def load_template(name_or_path: str | Path) -> str:
    """Text of a shipped template (``single``, ``batch``) or of a template file."""
    path = Path(name_or_path)
    if path.suffix and path.exists():
        return path.read_text(encoding="utf-8")
    shipped = resources.files("edgeemo").joinpath("prompts", f"{name_or_path}.txt")
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    raise PromptError(f"{name_or_path}: no such prompt template file (shipped templates: single, batch)")


def render(template: str, n: int = 1, labels: tuple[str, ...] = CLASSES) -> str:
    """Fill in ``$labels`` and ``$n``; an unknown placeholder is an error, not silently kept."""
    try:
        return string.Template(template).substitute(labels=", ".join(labels), n=n).strip()
    except KeyError as exc:
        raise PromptError(
            f"prompt template uses unknown placeholder ${exc.args[0]}; "
            f"templates may use {', '.join('$' + p for p in PLACEHOLDERS)} (write $$ for a literal $)"
        ) from exc
    except ValueError as exc:
        raise PromptError(f"prompt template is malformed: {exc} (write $$ for a literal $)") from exc


@dataclass(frozen=True)
class Example:
    """A labelled few-shot example: the face's pixels and its class index."""

    image_hash: str
    label: int


@dataclass
class PromptSpec:
    """Everything about the question that changes the answer (it is part of the cache key)."""

    template: str
    labels: tuple[str, ...] = CLASSES
    examples: list[Example] = field(default_factory=list)
    system: str | None = None

    def text(self, n: int = 1) -> str:
        return render(self.template, n, self.labels)

    def fingerprint(self) -> str:
        blob = json.dumps({
            "template": self.template, "labels": list(self.labels), "system": self.system,
            "examples": [[e.image_hash, e.label] for e in self.examples],
        }, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
