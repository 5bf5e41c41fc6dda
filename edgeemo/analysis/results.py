"""What ``analyze`` returns: every face of every image, with its box, landmarks and emotion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Face:
    """One detected face. ``box`` is the detector's ``(x, y, w, h)``; ``crop`` the four corners of
    the region the classifier saw (top-left, top-right, bottom-right, bottom-left of the crop);
    ``landmarks`` the five points (right eye, left eye, nose tip, right and left mouth corner, the
    person's own sides) or ``None`` for a detector without them."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray | None
    crop: np.ndarray
    label: str = ""
    confidence: float = 0.0
    probs: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": None if self.landmarks is None else np.round(self.landmarks, 1).tolist(),
            "crop": np.round(self.crop, 1).tolist(),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probs": {k: round(v, 4) for k, v in self.probs.items()},
        }


@dataclass
class ImageResult:
    """The faces of one image (largest first), or why the image could not be analyzed.

    ``source`` is the file (or ``<array N>``); ``frame`` the frame index for a video; ``ms`` the
    time spent on this image: reading, detection, cropping and its share of the batched inference.
    """

    source: str
    frame: int | None = None
    width: int = 0
    height: int = 0
    faces: list[Face] = field(default_factory=list)
    error: str | None = None
    ms: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    truth: int | None = None  # the folder's label, with labels from folders
    image: np.ndarray | None = field(default=None, repr=False)  # the pixels, while an output needs them

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        return self.source if self.frame is None else f"{self.source}#frame{self.frame}"

    def to_dict(self) -> dict:
        d: dict = {"source": self.source, "frame": self.frame}
        if self.error is not None:
            d["error"] = self.error
            return d
        d.update({"width": self.width, "height": self.height, "ms": round(self.ms, 3),
                  "faces": [f.to_dict() for f in self.faces]})
        return d
