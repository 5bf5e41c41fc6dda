"""The high-level Python API: faces in, emotion probabilities out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import Backend, open_backend
from .faces import as_face_batch, check_batch_size
from .model_files import locate_model


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
        loc = locate_model(model)
        self.path, self.origin = loc.path, loc.origin
        kwargs = {"threads": threads} if threads else {}
        self.backend: Backend = open_backend(self.path, backend, **kwargs)
        self.meta = self.backend.meta
        self.classes = self.meta.classes

    def preprocess(self, faces) -> np.ndarray:
        return self.meta.preprocess(faces)

    def predict_logits(self, faces, batch_size: int = 256) -> np.ndarray:
        """Logits for face crops: one crop (H×W, H×W×1/3/4) is one face; N×H×W, N×H×W×C or a list
        of crops is a batch (uint8 0-255, or floats in [0, 1]; see :mod:`edgeemo.faces`)."""
        batch_size = check_batch_size(batch_size)
        faces = as_face_batch(faces)
        n = len(faces)
        if n == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        out = [self.backend.predict(self.preprocess(faces[i : i + batch_size])) for i in range(0, n, batch_size)]
        return np.concatenate(out)

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
