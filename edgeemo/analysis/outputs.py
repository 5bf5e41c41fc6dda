"""Writing ``analyze`` results: one JSON document, a CSV of faces and annotated images."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..demo.overlay import _text_box, class_color, draw_bars
from ..errors import EdgeemoError
from ..labels import CLASSES
from .results import ImageResult

SCHEMA_VERSION = 1
CSV_COLUMNS = ("source", "frame", "face", "x", "y", "w", "h", "score", "label", "confidence", *CLASSES)


def _open_for_writing(path: Path, what: str):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise EdgeemoError(f"{what} {path}: cannot write it ({exc.strerror or exc})") from exc


def write_json(path: str | Path, results: Sequence[ImageResult], metadata: dict, summary: dict | None) -> None:
    """``{schema_version, metadata, summary?, images: [...], errors: [...]}``; each image lists its
    faces (box, score, landmarks, crop corners, label, confidence, probs)."""
    images, errors = [], []
    for r in results:
        (images if r.ok else errors).append(r.to_dict())
        if r.ok and r.truth is not None:
            images[-1]["truth"] = CLASSES[r.truth] if r.truth >= 0 else None
    doc = {"schema_version": SCHEMA_VERSION, "metadata": metadata}
    if summary is not None:
        doc["summary"] = summary
    doc.update({"images": images, "errors": errors})
    with _open_for_writing(Path(path), "--json") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def write_csv(path: str | Path, results: Sequence[ImageResult]) -> None:
    """One row per face (face 0 is the largest); an image without a face has one row with no box."""
    with _open_for_writing(Path(path), "--csv") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in results:
            if not r.ok:
                continue
            frame = "" if r.frame is None else r.frame
            if not r.faces:
                w.writerow([r.source, frame, "", *[""] * (len(CSV_COLUMNS) - 3)])
            for i, face in enumerate(r.faces):
                w.writerow([r.source, frame, i, *face.box, f"{face.score:.4f}", face.label, f"{face.confidence:.4f}",
                            *(f"{face.probs.get(c, 0.0):.4f}" for c in CLASSES)])


def draw_result(img: np.ndarray, result: ImageResult, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Each face's box, crop outline, landmarks, label and (for up to 8 faces) probability bars."""
    for face in result.faces:
        color = class_color(face.label)
        x, y, w, h = face.box
        thick = max(1, round(max(img.shape[:2]) / 400))
        cv2.rectangle(img, (x, y), (x + w, y + h), color, thick)
        cv2.polylines(img, [np.round(face.crop).astype(np.int32)], True, (255, 255, 255), 1, cv2.LINE_AA)
        if face.landmarks is not None:
            for px, py in face.landmarks:
                cv2.circle(img, (int(round(px)), int(round(py))), thick + 1, (0, 255, 0), -1, cv2.LINE_AA)
        _text_box(img, f"{face.label} {face.confidence * 100:.0f}%", (x - 1, y - 1), color,
                  scale=0.5 if w >= 60 else 0.4)
        if len(result.faces) <= 8:
            draw_bars(img, np.array([face.probs.get(c, 0.0) for c in classes]), classes, face.box)
    return img


def annotated_name(result: ImageResult, roots: Sequence[Path]) -> Path:
    """Where an annotated copy goes inside the output folder: the path below the input folder it
    came from (or its file name), as .jpg; video frames get ``_fNNNNNN``."""
    src = Path(result.source)
    rel = Path(src.name)
    for root in roots:
        try:
            rel = src.resolve().relative_to(root.resolve())
            break
        except ValueError:
            continue
    stem = rel.with_suffix("")
    if result.frame is not None:
        stem = stem.with_name(f"{stem.name}_f{result.frame:06d}")
    return stem.with_name(stem.name + ".jpg")


def save_annotated(out_dir: Path, result: ImageResult, image: np.ndarray, roots: Sequence[Path]) -> Path:
    dst = out_dir / annotated_name(result, roots)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", draw_result(image.copy(), result), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise EdgeemoError(f"--save-annotated: could not encode {dst}")
    try:
        buf.tofile(str(dst))
    except OSError as exc:
        raise EdgeemoError(f"--save-annotated {dst}: cannot write it ({exc.strerror or exc})") from exc
    return dst
