"""Temporal smoothing of each tracked face's class probabilities, so labels do not flicker."""

from __future__ import annotations

from collections import deque

import numpy as np

METHODS = ("ema", "window", "none")


class ProbabilitySmoother:
    """Per-track smoothing of probability vectors.

    ``ema``: ``s = alpha * p + (1 - alpha) * s`` (the first frame starts at ``p``);
    ``window``: mean of the last ``window`` frames; ``none``: pass through.
    """

    def __init__(self, method: str = "ema", alpha: float = 0.3, window: int = 8) -> None:
        if method not in METHODS:
            raise ValueError(f"smoothing must be one of {', '.join(METHODS)}, got {method!r}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"the EMA alpha must be in (0, 1], got {alpha}")
        if window < 1:
            raise ValueError(f"the smoothing window must be at least 1 frame, got {window}")
        self.method, self.alpha, self.window = method, alpha, window
        self._ema: dict[int, np.ndarray] = {}
        self._hist: dict[int, deque] = {}

    def update(self, track_ids: list[int], probs: np.ndarray) -> np.ndarray:
        """Smoothed probabilities for this frame's faces (same order as ``track_ids``)."""
        probs = np.asarray(probs, dtype=np.float32)
        if self.method == "none" or len(track_ids) == 0:
            return probs.copy()
        out = np.empty_like(probs)
        for i, tid in enumerate(track_ids):
            p = probs[i]
            if self.method == "ema":
                prev = self._ema.get(tid)
                s = p if prev is None else self.alpha * p + (1.0 - self.alpha) * prev
                self._ema[tid] = s
            else:
                hist = self._hist.setdefault(tid, deque(maxlen=self.window))
                hist.append(p)
                s = np.mean(hist, axis=0)
            out[i] = s
        return out

    def drop(self, track_ids: list[int]) -> None:
        """Forget tracks that ended."""
        for tid in track_ids:
            self._ema.pop(tid, None)
            self._hist.pop(tid, None)
