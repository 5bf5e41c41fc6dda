"""Drawing the results onto a frame: boxes, labels, per-face probability bars, FPS and stage times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

# BGR colour per class name; unknown names fall back to white.
CLASS_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 230),
    "disgust": (40, 150, 40),
    "fear": (170, 60, 170),
    "happy": (0, 210, 255),
    "sad": (200, 110, 30),
    "surprise": (0, 140, 255),
    "neutral": (190, 190, 190),
}
STAGE_ABBR = {"capture": "cap", "detect": "det", "preprocess": "pre", "infer": "inf", "track": "trk", "draw": "draw",
              "output": "out"}
FONT = cv2.FONT_HERSHEY_SIMPLEX
BAR_W, ROW_H = 56, 11


def class_color(name: str) -> tuple[int, int, int]:
    return CLASS_COLORS.get(name, (255, 255, 255))


def _text_box(img: np.ndarray, text: str, org: tuple[int, int], color: tuple[int, int, int],
              scale: float = 0.5, fg: tuple[int, int, int] = (0, 0, 0), avoid: tuple[int, int] | None = None,
              below: int | None = None) -> None:
    """Text on a filled box whose bottom-left corner is ``org`` (kept inside the image). When that box
    would fall inside the ``avoid`` band (width, height at the top left), it goes to the line whose
    top is ``below`` instead."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    h, w = img.shape[:2]
    x = int(min(max(org[0], 0), max(w - tw - 4, 0)))
    y = int(min(max(org[1], th + base + 2), h))
    if avoid is not None and below is not None and x < avoid[0] and y - th - base - 4 < avoid[1]:
        y = int(min(below + th + base + 4, h))
    cv2.rectangle(img, (x, y - th - base - 4), (x + tw + 4, y), color, -1)
    cv2.putText(img, text, (x + 2, y - base - 1), FONT, scale, fg, 1, cv2.LINE_AA)


def draw_bars(img: np.ndarray, probs: np.ndarray, classes: Sequence[str], box: Sequence[int]) -> None:
    """A small horizontal bar chart of ``probs`` beside ``box`` (right side if it fits, else left)."""
    x, y, w, h = (int(v) for v in box)
    label_w = 30
    chart_w, chart_h = label_w + BAR_W + 6, ROW_H * len(classes) + 4
    ih, iw = img.shape[:2]
    cx = x + w + 4 if x + w + 4 + chart_w <= iw else x - chart_w - 4
    if cx < 0:
        return
    cy = int(min(max(y, 0), max(ih - chart_h, 0)))
    cv2.rectangle(img, (cx, cy), (cx + chart_w, cy + chart_h), (30, 30, 30), -1)
    top = int(np.argmax(probs))
    for i, (name, p) in enumerate(zip(classes, probs)):
        ry = cy + 2 + i * ROW_H
        color = class_color(name)
        cv2.putText(img, name[:3], (cx + 2, ry + ROW_H - 2), FONT, 0.32,
                    (255, 255, 255) if i == top else (170, 170, 170), 1, cv2.LINE_AA)
        bw = int(round(float(p) * BAR_W))
        if bw > 0:
            cv2.rectangle(img, (cx + label_w, ry + 2), (cx + label_w + bw, ry + ROW_H - 2), color, -1)


def draw_faces(img: np.ndarray, faces: Sequence, classes: Sequence[str], bars: bool = True,
               avoid: tuple[int, int] | None = None) -> None:
    """Box, ``#id label conf%`` and (when ``bars``) a probability chart for each face result; a label
    that would sit under the stats band (``avoid``: its width and height) goes below its box."""
    for f in faces:
        x, y, w, h = (int(v) for v in f.box)
        color = class_color(f.label)
        cv2.rectangle(img, (x, y), (x + w, y + h), color, 2)
        _text_box(img, f"#{f.track_id} {f.label} {f.confidence * 100:.0f}%", (x - 1, y - 1), color,
                  scale=0.5 if w >= 60 else 0.4, avoid=avoid, below=y + h + 1)
        if bars:
            draw_bars(img, f.probs, classes, (x, y, w, h))


def _hud_lines(fps: float, n_faces: int, stages_ms: Mapping[str, float]) -> tuple[str, str]:
    return (f"FPS {fps:5.1f}   faces {n_faces}",
            "  ".join(f"{STAGE_ABBR.get(k, k[:4])} {v:.1f}" for k, v in stages_ms.items()) + " ms")


def hud_size(img: np.ndarray, fps: float, n_faces: int, stages_ms: Mapping[str, float],
             scale: float = 0.45) -> tuple[int, int]:
    """Width and height of the stats band :func:`draw_hud` draws at the top left."""
    line1, line2 = _hud_lines(fps, n_faces, stages_ms)
    (w1, h1), _ = cv2.getTextSize(line1, FONT, scale, 1)
    (w2, _), _ = cv2.getTextSize(line2, FONT, scale, 1)
    return min(max(w1, w2) + 12, img.shape[1]), 2 * (h1 + 8) + 4


def draw_hud(img: np.ndarray, fps: float, n_faces: int, stages_ms: Mapping[str, float]) -> None:
    """FPS, face count and per-stage times in milliseconds, in a band at the top left."""
    line1, line2 = _hud_lines(fps, n_faces, stages_ms)
    scale = 0.45
    (_, h1), _ = cv2.getTextSize(line1, FONT, scale, 1)
    band_w, band_h = hud_size(img, fps, n_faces, stages_ms, scale)
    roi = img[:band_h, :band_w]
    roi[:] = (roi * 0.35).astype(np.uint8)  # darken rather than hide what is under the band
    cv2.putText(img, line1, (6, h1 + 6), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(img, line2, (6, 2 * (h1 + 8)), FONT, scale, (200, 255, 200), 1, cv2.LINE_AA)


def annotate(img: np.ndarray, faces: Sequence, classes: Sequence[str], fps: float,
             stages_ms: Mapping[str, float], max_bar_faces: int = 8) -> np.ndarray:
    """Draw everything in place on ``img`` and return it.

    Probability bars are drawn while at most ``max_bar_faces`` faces are in the frame; a crowd
    gets boxes and labels only, so the picture stays readable.
    """
    draw_faces(img, faces, classes, bars=len(faces) <= max_bar_faces, avoid=hud_size(img, fps, len(faces), stages_ms))
    draw_hud(img, fps, len(faces), stages_ms)
    return img
