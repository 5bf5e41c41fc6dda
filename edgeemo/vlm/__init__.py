"""Zero- and few-shot vision LLMs scored like the trained models.

``edgeemo vlm-eval`` and :func:`edgeemo.vlm.run.vlm_evaluate` ask a LLaVA-style model through
llama.cpp (``backend="llava"``, extra ``edgeemo[llava]``) or any OpenAI-compatible endpoint
(``backend="openai"``, extra ``edgeemo[openai]``) for the emotion of each face, cache every
answer, and report the metrics of ``edgeemo eval`` plus invalid/refusal rates, latency, tokens
and cost. Nothing here imports torch.
"""

from __future__ import annotations

__all__ = ["vlm_evaluate", "estimate_run"]


def __getattr__(name: str):
    if name in __all__:
        from . import run

        return getattr(run, name)
    raise AttributeError(name)
