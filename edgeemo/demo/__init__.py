"""The live demo: detect every face in a video stream, classify, track, smooth and show the emotions.

>>> from edgeemo.demo import run_demo
>>> summary = run_demo("video.mp4", display="none", jsonl="faces.jsonl")

Names are imported on first use, so ``edgeemo --help`` does not load OpenCV or a runtime.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "run_demo": "pipeline", "EmotionPipeline": "pipeline", "FaceResult": "pipeline", "DemoSummary": "pipeline",
    "open_source": "sources", "IouTracker": "track", "ProbabilitySmoother": "smooth",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
