"""Kaggle's ``fer2013.csv``: columns ``emotion``, ``pixels`` (2304 space-separated 0..255
values, row-major 48×48) and ``Usage`` (Training / PublicTest / PrivateTest)."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..labels import CLASSES
from .collector import FaceCollector
from .dataset import SPLITS, FaceSet

SIZE = 48
NUM_PIXELS = SIZE * SIZE

REASON_COUNT = f"corrupt pixels: value count is not {SIZE}×{SIZE} = {NUM_PIXELS}"
REASON_VALUES = "corrupt pixels: values are not integers in 0..255"
REASON_MISSING = "corrupt row: no pixels field"

_USAGE = {"training": 0, "publictest": 1, "privatetest": 2}


def _parse_pixels(text: str) -> tuple[np.ndarray | None, str, str]:
    """Pixels of one row as 48×48 uint8, or ``(None, reason, detail)``."""
    # Fast path: only digits and whitespace, parsed in C. fromstring stops with an error at
    # anything else, so a string it reads whole with 2304 in-range values is valid.
    if "-" not in text and "+" not in text:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                arr = np.fromstring(text, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            arr = None
        if arr is not None and arr.size == NUM_PIXELS and arr.min() >= 0 and arr.max() <= 255:
            return arr.astype(np.uint8).reshape(SIZE, SIZE), "", ""
    # Slow path: say what is wrong.
    tokens = text.split()
    n = len(tokens)
    if n != NUM_PIXELS:
        side = math.isqrt(n)
        if n == 0:
            detail = "empty pixels field"
        elif side * side != n:
            detail = f"{n} values, not a square image"
        else:
            detail = f"{n} values = a {side}×{side} image, expected {SIZE}×{SIZE}"
        return None, REASON_COUNT, detail
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        bad = next(t for t in tokens if not _is_int(t))
        return None, REASON_VALUES, f"non-integer value {bad[:20]!r}"
    if values.min() < 0 or values.max() > 255:
        bad = values[(values < 0) | (values > 255)][0]
        return None, REASON_VALUES, f"value {int(bad)} outside 0..255"
    return values.astype(np.uint8).reshape(SIZE, SIZE), "", ""


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def load_fer2013_csv(path: str | Path) -> FaceSet:
    """Load Kaggle's ``fer2013.csv`` (also ``icml_face_data.csv``, whose headers carry spaces).

    A file without ``Usage`` loads with split ``-1``. Rows whose pixel string is corrupt are
    skipped, counted in :attr:`FaceSet.dropped` and reported in a warning with their line
    numbers; a label outside 0..6 or an unknown ``Usage`` is an error, since it means the file
    is not what it claims to be.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: is not a file; expected Kaggle's fer2013.csv")
    rows = _Rows()
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            cols = _columns(next(reader, None), path)
            for row in reader:
                if row and any(cell.strip() for cell in row):  # a blank line is not a data row
                    rows.add_row(row, cols, reader.line_num, path)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc})") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    return rows.finish(path)


def _columns(header: list[str] | None, path: Path) -> tuple[int, int, int | None]:
    """Indices of the ``emotion``, ``pixels`` and (optional) ``Usage`` columns."""
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header 'emotion,pixels,Usage'")
    columns = {name.strip().lower(): i for i, name in enumerate(header)}
    missing = [c for c in ("emotion", "pixels") if c not in columns]
    if missing:
        found = ", ".join(repr(h) for h in header) or "nothing"
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {found}); "
            "expected Kaggle's fer2013.csv with columns emotion, pixels, Usage"
        )
    return columns["emotion"], columns["pixels"], columns.get("usage")


def _label(row: list[str], i_label: int, line: int, path: Path) -> int:
    raw_label = row[i_label].strip() if len(row) > i_label else ""
    try:
        label = int(raw_label)
    except ValueError:
        label = None
    if label is None or not 0 <= label < len(CLASSES):
        raise DataError(
            f"{path}: line {line}: emotion {raw_label!r} is not a label 0..{len(CLASSES) - 1} "
            f"({', '.join(f'{i}={c}' for i, c in enumerate(CLASSES))})"
        )
    return label


def _split(row: list[str], i_usage: int | None, line: int, path: Path) -> int:
    usage = row[i_usage].strip() if i_usage is not None and len(row) > i_usage else ""
    if not usage:
        return -1
    key = usage.replace("_", "").replace("-", "").lower()
    if key not in _USAGE:
        raise DataError(f"{path}: line {line}: Usage {usage!r} is not one of {', '.join(SPLITS)}")
    return _USAGE[key]


class _Rows(FaceCollector):
    """The rows read so far, and the corrupt ones skipped (counted per reason, a few line numbers each)."""

    def add_row(self, row: list[str], cols: tuple[int, int, int | None], line: int, path: Path) -> None:
        i_label, i_pixels, i_usage = cols
        if len(row) <= i_pixels:
            img, reason, detail = None, REASON_MISSING, f"{len(row)} field(s)"
        else:
            img, reason, detail = _parse_pixels(row[i_pixels])
        if img is None:
            self.drop(reason, f"line {line} ({detail})")
            return
        self.add(img, _label(row, i_label, line, path), _split(row, i_usage, line, path))

    def finish(self, path: Path) -> FaceSet:
        if not self.images:
            if self.dropped:
                raise DataError(f"{path}: no usable row, every row is corrupt: {self.problems()}")
            raise DataError(f"{path}: no data rows after the header")
        return self.face_set(str(path), "corrupt row(s)")
