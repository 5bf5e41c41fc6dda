"""The high-level Python API: faces in, emotion probabilities out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import Backend, open_backend
from .errors import EdgeemoError
from .faces import as_face_batch, check_batch_size
from .model_files import SHIPPED, locate_model
from .precision import PRECISIONS, PrecisionChoice, open_shipped
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

    >>> clf = EmotionClassifier("default")          # the shipped model (INT8 where faster), onnxruntime
    >>> fast = EmotionClassifier("fast")             # the shipped fast model, a quarter of the compute
    >>> clf.predict_proba(faces)                     # N×7 probabilities
    """

    def __init__(self, model: str | Path = "default", backend: str = "auto", threads: int | None = None,
                 precision: str = "auto") -> None:
        """``precision`` applies to the shipped models (``default``, ``fast``): ``auto`` runs INT8 where
        it is measured faster on this machine (:mod:`edgeemo.precision`), ``fp32``/``int8`` force one.
        Any other model file runs as it is; ``self.precision_choice`` says what ran and why."""
        if str(model) in SHIPPED and not isinstance(model, Path):
            self.backend, self.precision_choice = open_shipped(str(model), precision, backend, threads)
            self.path, self.origin = self.backend.path, f"the shipped {model} model"
        else:
            loc = locate_model(model)
            self.path, self.origin = loc.path, loc.origin
            kwargs = {"threads": threads} if threads else {}
            self.backend: Backend = open_backend(self.path, backend, **kwargs)
            if precision not in PRECISIONS:
                raise EdgeemoError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
            if precision != "auto" and precision != self.backend.meta.precision:
                raise EdgeemoError(f"{self.path} is a {self.backend.meta.precision} model, not {precision}: "
                                   "--precision chooses between the shipped model's files; leave it at auto")
            self.precision_choice = PrecisionChoice(self.backend.meta.precision, str(self.path), "file")
        self.meta = self.backend.meta
        self.classes = self.meta.classes

    def preprocess(self, faces) -> np.ndarray:
        return self.meta.preprocess(faces)

    def predict_logits(self, faces, batch_size: int = 256) -> np.ndarray:
        """Logits for face crops: one crop (H×W, H×W×1/3/4) is one face; N×H×W, N×H×W×C or a list
        of crops is a batch (uint8 0-255, or floats in [0, 1]; see :mod:`edgeemo.faces`)."""
        return batched_logits(self.backend.predict, as_face_batch(faces), batch_size=check_batch_size(batch_size),
                              prepare=self.preprocess, num_classes=len(self.classes))

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
