"""Scenes for testing and benchmarking the demo: face crops moving over generated backgrounds.

Give it face crops (e.g. FER2013's 48×48 faces, loaded at run time) and it renders frames in
which the faces enter, cross and leave the picture along lanes, with the true box and label of
every visible face, so a test can check detection, tracking and labels against ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass
class Sprite:
    """One face's path: it moves from ``x0`` at ``vx`` px/frame from frame ``start`` on, bobbing vertically."""

    face: int  # index into the scene's faces
    label: int
    size: int
    start: int
    x0: float
    y0: float
    vx: float
    bob: float = 6.0
    phase: float = 0.0

    def box(self, t: int) -> tuple[int, int, int, int]:
        dt = t - self.start
        x = self.x0 + self.vx * dt
        y = self.y0 + self.bob * np.sin(0.15 * dt + self.phase)
        return int(round(x)), int(round(y)), self.size, self.size


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth, cluttered BGR background: colour gradient, soft blobs and a few rectangles."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
    ramp = (xx / width * 0.6 + yy / height * 0.4)[..., None]
    img = c0 * (1 - ramp) + c1 * ramp
    noise = cv2.resize(rng.normal(0, 25, (height // 40 + 2, width // 40 + 2)).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    img += noise[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(30, width // 3)), int(rng.integers(30, height // 3))
        color = tuple(int(v) for v in rng.integers(30, 220, 3))
        cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
    return cv2.GaussianBlur(img, (0, 0), 2.0)


class Scene:
    """Faces crossing a background along horizontal lanes, alternating direction, one after another.

    ``faces`` are gray or BGR crops (any size); each is shown at ``size`` pixels. Frames come from
    :meth:`frames` as (BGR image, truths) where truths lists ``(face, label, (x, y, w, h))`` for
    each face at least partly in the picture.
    """

    def __init__(self, faces: Sequence[np.ndarray], labels: Sequence[int], width: int = 640, height: int = 480,
                 lanes: int = 3, size: int = 104, speed: tuple[float, float] = (6.0, 9.0), spacing: int = 36,
                 seed: int = 0, noise: float = 3.0) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height, self.noise = width, height, noise
        self.rng = rng
        self.bg = background(width, height, rng)
        self.faces = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) if f.ndim == 2 else f for f in faces]
        self._scaled: dict[tuple[int, int], np.ndarray] = {}
        lane_h = height / lanes
        self.sprites: list[Sprite] = []
        next_start = [int(lane * spacing / lanes) for lane in range(lanes)]
        for k, label in enumerate(labels):
            lane = k % lanes
            direction = 1 if lane % 2 == 0 else -1
            vx = direction * float(rng.uniform(*speed))
            s = int(size * rng.uniform(0.9, 1.1))
            y0 = lane * lane_h + (lane_h - s) / 2
            x0 = -s + 1 if direction > 0 else width - 1
            self.sprites.append(Sprite(k, int(label), s, next_start[lane], x0, y0, vx, phase=float(rng.uniform(0, 6))))
            next_start[lane] += int(spacing + (s + 40) / abs(vx))
        self.length = max(sp.start + int((width + sp.size) / abs(sp.vx)) + 2 for sp in self.sprites)

    def _face(self, k: int, size: int) -> np.ndarray:
        key = (k, size)
        if key not in self._scaled:
            self._scaled[key] = cv2.resize(self.faces[k], (size, size), interpolation=cv2.INTER_CUBIC)
        return self._scaled[key]

    def render(self, t: int) -> tuple[np.ndarray, list[tuple[int, int, tuple[int, int, int, int]]]]:
        img = self.bg.copy()
        truths = []
        for sp in self.sprites:
            if t < sp.start:
                continue
            x, y, w, h = sp.box(t)
            x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
            if x1 <= x0 or y1 <= y0:
                continue
            img[y0:y1, x0:x1] = self._face(sp.face, sp.size)[y0 - y:y1 - y, x0 - x:x1 - x]
            truths.append((sp.face, sp.label, (x, y, w, h)))
        if self.noise:
            img = cv2.add(img, self.rng.normal(0, self.noise, img.shape).astype(np.int16), dtype=cv2.CV_8U)
        return img, truths

    def frames(self, n: int | None = None) -> Iterator[tuple[np.ndarray, list]]:
        for t in range(self.length if n is None else n):
            yield self.render(t)

    def write(self, path: str | Path, fps: float = 15.0, n: int | None = None) -> list[list]:
        """Write the scene as a video; returns the truths of every frame."""
        path = Path(path)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (self.width, self.height))
        if not writer.isOpened():
            raise OSError(f"cannot write {path}")
        truths = []
        try:
            for img, tr in self.frames(n):
                writer.write(img)
                truths.append(tr)
        finally:
            writer.release()
        return truths


@dataclass
class Placement:
    """Where a face crop went in a composed photo: its centre, side in pixels and roll in degrees
    (counter-clockwise on screen), and the crop's four corners (top-left, top-right, bottom-right,
    bottom-left of the original crop) in the photo."""

    face: int
    label: int
    center: tuple[float, float]
    size: int
    angle: float
    quad: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The axis-aligned bounds of the (rotated) crop, ``(x, y, w, h)``."""
        x0, y0 = self.quad.min(axis=0)
        x1, y1 = self.quad.max(axis=0)
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))


def paste_face(img: np.ndarray, face: np.ndarray, center: tuple[float, float], size: int,
               angle: float = 0.0) -> np.ndarray:
    """Paste a gray or BGR face crop into ``img`` (in place) at ``center``, ``size`` px, rolled by
    ``angle`` degrees; returns the crop's four corners in ``img``."""
    tile = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    if tile.ndim == 2:
        tile = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
    m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
    m[:, 2] += np.asarray(center, np.float64) - size / 2
    h, w = img.shape[:2]
    warped = cv2.warpAffine(tile, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((size, size), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    img[:] = (warped * alpha + img * (1 - alpha)).round().astype(np.uint8)
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
    return corners @ m[:, :2].T + m[:, 2]


def compose_photo(faces: Sequence[np.ndarray], labels: Sequence[int], rng: np.random.Generator,
                  width: int = 640, height: int = 480, sizes: tuple[int, int] = (80, 160),
                  max_angle: float = 20.0, tries: int = 200) -> tuple[np.ndarray, list[Placement]]:
    """A photo with every face of ``faces`` pasted at a random place, size and roll on a textured
    background, none overlapping another; returns the BGR image and where each face went.

    Raises ``ValueError`` when the faces do not fit (make the photo larger or the faces smaller).
    """
    img = background(width, height, rng)
    texture = rng.normal(0, 12, (height, width, 1))  # fine grain, so the background is not flat
    img = np.clip(img + texture, 0, 255).astype(np.uint8)
    taken: list[tuple[float, float, float]] = []
    placed = []
    for k, (face, label) in enumerate(zip(faces, labels)):
        for _ in range(tries):
            s = int(rng.integers(sizes[0], sizes[1] + 1))
            r = s * 0.75  # half the diagonal of the square, plus a margin
            cx, cy = float(rng.uniform(r, width - r)), float(rng.uniform(r, height - r))
            if all((cx - x) ** 2 + (cy - y) ** 2 > (r + q) ** 2 for x, y, q in taken):
                break
        else:
            raise ValueError(f"face {k} does not fit in a {width}×{height} photo with the others")
        angle = float(rng.uniform(-max_angle, max_angle))
        quad = paste_face(img, face, (cx, cy), s, angle)
        taken.append((cx, cy, r))
        placed.append(Placement(k, int(label), (cx, cy), s, angle, quad))
    return img, placed
