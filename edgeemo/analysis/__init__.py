"""Faces and emotions in photos and videos: ``edgeemo analyze`` and :class:`Analyzer`.

Names are imported on first use, so ``edgeemo --help`` does not load OpenCV or a runtime.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Analyzer": "analyzer", "analyze": "analyzer", "ImageResult": "results", "Face": "results",
    "run_analyze": "run", "score_photos": "scoring",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
