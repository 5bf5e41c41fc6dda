"""A light IoU tracker: each face keeps an id while its box overlaps its previous box."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes given as N×4 and M×4 ``(x, y, w, h)`` arrays."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class Track:
    id: int
    box: np.ndarray  # (x, y, w, h) as last detected
    hits: int = 1  # frames in which it was detected
    missed: int = 0  # consecutive detection rounds without a match
    age: int = 1  # frames since it appeared
    gap: int = 0  # frames since ``box`` was detected
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))

    def predicted(self, ahead: int = 1) -> np.ndarray:
        """Where the box should be ``ahead`` frames after the current one (constant velocity)."""
        return self.box + self.velocity * (self.gap + ahead)


class IouTracker:
    """Greedy IoU matching of detections to tracks, with constant-velocity prediction.

    A detection joins the track whose predicted box overlaps it most (IoU at least
    ``iou_threshold``); unmatched detections start new tracks, and a track unmatched for more
    than ``max_missed`` detection rounds is dropped. Between detections, :meth:`coast` moves
    the tracks along their velocity.
    """

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 10) -> None:
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, boxes: np.ndarray) -> tuple[list[int], list[int]]:
        """Match this frame's boxes; returns (track id per box, ids of tracks dropped now)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = [0] * len(boxes)
        matched_tracks: set[int] = set()
        if self.tracks and len(boxes):
            pred = np.stack([t.predicted(1) for t in self.tracks])
            iou = iou_matrix(pred, boxes)
            for flat in np.argsort(-iou, axis=None):
                ti, di = divmod(int(flat), len(boxes))
                if iou[ti, di] < self.iou_threshold:
                    break
                if ti in matched_tracks or ids[di]:
                    continue
                t = self.tracks[ti]
                step = (boxes[di] - t.box) / (t.gap + 1)
                t.velocity = step if t.hits == 1 else 0.5 * t.velocity + 0.5 * step
                t.box, t.hits, t.missed, t.gap = boxes[di], t.hits + 1, 0, 0
                ids[di] = t.id
                matched_tracks.add(ti)
        dropped = []
        kept = []
        for ti, t in enumerate(self.tracks):
            if ti not in matched_tracks:
                t.missed += 1
                t.gap += 1
            t.age += 1
            if t.missed > self.max_missed:
                dropped.append(t.id)
            else:
                kept.append(t)
        self.tracks = kept
        for di, box in enumerate(boxes):
            if not ids[di]:
                self.tracks.append(Track(self._next_id, box))
                ids[di] = self._next_id
                self._next_id += 1
        return ids, dropped

    def coast(self) -> tuple[list[int], np.ndarray]:
        """Advance a frame without detections: the ids and predicted boxes of the tracks seen last round."""
        ids, boxes = [], []
        for t in self.tracks:
            if t.missed == 0:
                ids.append(t.id)
                boxes.append(t.predicted(1))
            t.gap += 1
            t.age += 1
        return ids, np.asarray(boxes, dtype=np.float64).reshape(-1, 4)

    @property
    def started(self) -> int:
        """How many tracks were started so far."""
        return self._next_id - 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1
