"""Face detectors behind one interface, used by ``analyze``, ``demo`` and the benchmarks alike.

``yunet`` (the default) is a small CNN that ships with edgeemo and also gives five landmarks,
which :mod:`edgeemo.align` uses to frame each face like FER2013's crops; ``haar`` is OpenCV's
frontal-face cascade (boxes only).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EdgeemoError
from .base import LANDMARKS, Detections, FaceDetector
from .haar import HaarDetector
from .yunet import YUNET_FILE, YUNET_SHA256, YuNetDetector, shipped_yunet

DETECTORS = ("yunet", "haar")
DEFAULT_DETECTOR = "yunet"


def make_detector(name: str = DEFAULT_DETECTOR, model: str | Path | None = None, detect_width: int = 320,
                  min_face: int | None = None, score_threshold: float | None = None) -> FaceDetector:
    """A detector by name. ``model`` replaces its file (a YuNet .onnx or a Haar cascade .xml);
    ``min_face`` and ``score_threshold`` default to each detector's own."""
    if name == "yunet":
        kwargs = {k: v for k, v in (("min_face", min_face), ("score_threshold", score_threshold)) if v is not None}
        return YuNetDetector(model, detect_width, **kwargs)
    if name == "haar":
        return HaarDetector(detect_width, 48 if min_face is None else min_face, cascade=model)
    raise EdgeemoError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")


__all__ = ["DETECTORS", "DEFAULT_DETECTOR", "LANDMARKS", "Detections", "FaceDetector", "HaarDetector",
           "YuNetDetector", "YUNET_FILE", "YUNET_SHA256", "make_detector", "shipped_yunet"]
