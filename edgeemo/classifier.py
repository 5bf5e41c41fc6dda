"""The high-level Python API: faces in, emotion probabilities out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import Backend, open_backend
from .model_files import resolve_model
from .scoring import batched_logits


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Prediction:
    label: str
    confidence: float
    probs: dict[str, float]


class EmotionClassifier:
    """Classify face crops with any edgeemo model file in any available runtime.

    >>> clf = EmotionClassifier("default")          # the shipped model, onnxruntime
    >>> clf.predict_proba(faces)                     # N×7 probabilities
    """

    def __init__(self, model: str | Path = "default", backend: str = "auto", threads: int | None = None) -> None:
        self.path = resolve_model(model)
        kwargs = {"threads": threads} if threads else {}
        self.backend: Backend = open_backend(self.path, backend, **kwargs)
        self.meta = self.backend.meta
        self.classes = self.meta.classes

    def preprocess(self, faces) -> np.ndarray:
        return self.meta.preprocess(faces)

    def predict_logits(self, faces, batch_size: int = 256) -> np.ndarray:
        """Logits for face crops (N×H×W gray, N×H×W×3 BGR, or a list of crops)."""
        return batched_logits(self.backend.predict, faces, batch_size=batch_size, prepare=self.preprocess,
                              num_classes=len(self.classes))

    def predict_proba(self, faces, batch_size: int = 256) -> np.ndarray:
        return softmax(self.predict_logits(faces, batch_size))

    def predict(self, faces, batch_size: int = 256) -> list[Prediction]:
        probs = self.predict_proba(faces, batch_size)
        return [
            Prediction(self.classes[int(p.argmax())], float(p.max()), dict(zip(self.classes, map(float, p))))
            for p in probs
        ]

    def close(self) -> None:
        self.backend.close()
