"""Turn a model's text into class indices, telling invalid answers from refusals.

Every answer ends as ``(index, status)``: ``status`` is ``ok``, ``invalid`` (no single label could be
read) or ``refusal`` (the model declined); the index is ``-1`` unless ``ok``. Nothing is guessed:
an answer naming two classes is invalid, and a refusal is counted as such.
"""

from __future__ import annotations

import json
import re

from ..labels import CLASSES, class_index

OK, INVALID, REFUSAL = "ok", "invalid", "refusal"

_REFUSAL = re.compile(
    r"\b(sorry|i can(?:no|')t|i cannot|i'm unable|i am unable|unable to (?:help|assist|determine|identify)|"
    r"i won't|not able to|can't (?:help|assist|determine|identify)|as an ai|not comfortable|"
    r"cannot (?:help|assist|determine|identify))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+")


def _class_of(word: str, labels: tuple[str, ...]) -> int | None:
    word = word.strip().strip("\"'`.,;:!*()[]{} \n\t").lower()
    if not word:
        return None
    if labels == CLASSES:
        try:
            idx = class_index(word)
        except KeyError:
            return None
        return idx if idx >= 0 else None
    return labels.index(word) if word in labels else None


def parse_label(text: str | None, labels: tuple[str, ...] = CLASSES) -> tuple[int, str]:
    """One answer: an exact label (or synonym, e.g. ``happiness``), else the only label word in it."""
    if text is None or not text.strip():
        return -1, INVALID
    stripped = _unwrap_json(text)
    if isinstance(stripped, dict) and len(stripped) == 1:
        stripped = next(iter(stripped.values()))
    if isinstance(stripped, str):
        idx = _class_of(stripped, labels)
        if idx is not None:
            return idx, OK
        text = stripped
    found = {i for w in _WORD.findall(text.lower()) if (i := _class_of(w, labels)) is not None}
    if len(found) == 1:
        return found.pop(), OK
    if not found and _REFUSAL.search(text):
        return -1, REFUSAL
    return -1, INVALID


def parse_batch(text: str | None, n: int, labels: tuple[str, ...] = CLASSES) -> list[tuple[int, str]] | None:
    """A JSON answer for ``n`` images (``{"image_1": ..., ...}`` or a list of ``n`` words).

    Returns None when the answer does not hold exactly ``n`` answers (the caller then splits the
    batch), else one ``(index, status)`` per image.
    """
    obj = _unwrap_json(text or "")
    if isinstance(obj, dict):
        if len(obj) == 1 and isinstance(next(iter(obj.values())), (dict, list)):
            obj = next(iter(obj.values()))  # {"answers": {...}} or {"labels": [...]}
    if isinstance(obj, dict):
        keys = [f"image_{i + 1}" for i in range(n)]
        if set(obj) != set(keys):
            return None
        values = [obj[k] for k in keys]
    elif isinstance(obj, list):
        if len(obj) != n:
            return None
        values = obj
    else:
        if n == 1 and isinstance(obj, str):
            return [parse_label(obj, labels)]
        return None
    return [parse_label(v if isinstance(v, str) else json.dumps(v), labels) for v in values]


def _unwrap_json(text: str):
    """Parsed JSON if ``text`` is (or contains, e.g. in a code fence) one JSON value, else the text."""
    s = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.DOTALL)
    if fence:
        s = fence.group(1).strip()
    for candidate in (s, _first_braced(s)):
        if candidate:
            try:
                return json.loads(candidate)
            except ValueError:
                pass
    return s


def _first_braced(s: str) -> str | None:
    start = min((i for i in (s.find("{"), s.find("[")) if i >= 0), default=-1)
    if start < 0:
        return None
    end = max(s.rfind("}"), s.rfind("]"))
    return s[start:end + 1] if end > start else None
