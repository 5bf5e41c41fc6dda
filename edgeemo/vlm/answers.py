"""Answers files: published (or previously collected) vision-LLM answers, read and matched to faces.

An answers file is a CSV with one row per face: a name that identifies the face in the data
(``name``, matched against a row-name array of the face set such as ``ferplus_image_name``),
the model's ranked answer list (``gpt4v``: comma-separated words, the first is its top-1) and,
optionally, the labels its authors scored against (``gt``). This is the layout of the answers
Lian et al. (2024) published for GPT-4V (github.com/zeroQiaoba/gpt4v-emotion); other layouts are
mapped with ``key_column``, ``answer_column``, ``gt_column`` and ``separator``.

Answer words become classes through the live backends' parser (:func:`edgeemo.vlm.parse.parse_label`):
``Happiness`` is happy; a word outside the seven classes (``contempt``, ``pain``) is an invalid answer,
counted as wrong and never guessed. The file is untrusted: a malformed file is one clear error, a bad
row a counted skip.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import FaceSet
from ..errors import DataError
from ..labels import CLASSES, class_index
from .parse import INVALID, OK, REFUSAL, parse_label

MAX_FIELD = 4096  # characters: an answer list is a few words; anything longer is not an answers file
MAX_ROWS = 1_000_000
MAX_BYTES = 256 * 2**20  # a million rows of a few words each fit many times over
_SHOWN = 10  # names listed in a report of unmatched rows


@dataclass
class AnswerFile:
    """The rows of an answers file that could be read, by name."""

    path: str
    answers: dict[str, str]
    gt: dict[str, str] | None
    rows: int
    columns: dict[str, str | None]
    skipped: dict[str, int] = field(default_factory=dict)


@contextmanager
def _field_limit(n: int):
    old = csv.field_size_limit()
    csv.field_size_limit(n)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _text_lines(f, path: Path):
    """The file's lines; a NUL byte means a binary file, not a CSV of answers."""
    for i, line in enumerate(f, 1):
        if "\0" in line:
            raise DataError(f"{path}: not a readable CSV at line {i} (a NUL byte: a binary file?)")
        yield line


def _pick_column(header: list[str], wanted: str, option: str, path: Path) -> str:
    if wanted in header:
        return wanted
    folded = {h.strip().lower(): h for h in header}
    if wanted.strip().lower() in folded:
        return folded[wanted.strip().lower()]
    shown = ", ".join(repr(h[:40]) for h in header[:20])
    raise DataError(f"{path}: no column {wanted!r} (the file has {shown}); name the right one with {option}")


def _checked_file(path: Path) -> Path:
    """``path`` if it is a file of a plausible size for answers, else a clear error."""
    if not path.is_file():
        raise DataError(f"{path}: no such answers file (pass the CSV of published answers with --answers)")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path}: {path.stat().st_size / 2**20:.0f} MiB is far larger than an answers file "
                        f"(at most {MAX_BYTES // 2**20} MiB); is it the right file?")
    return path


def read_answers(path: str | Path, *, key_column: str = "name", answer_column: str = "gpt4v",
                 gt_column: str | None = "gt") -> AnswerFile:
    """Read an answers CSV. ``gt_column`` is optional: None, or a name the file lacks, reads no labels."""
    path = _checked_file(Path(path))
    skipped: Counter = Counter()
    answers: dict[str, str] = {}
    gt: dict[str, str] = {}
    conflicting: set[str] = set()
    rows = 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as f, _field_limit(MAX_FIELD):
            reader = csv.reader(_text_lines(f, path))
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: empty file; an answers CSV starts with a header row ({key_column},"
                                f"{answer_column},...)")
            key = _pick_column(header, key_column, "--key-column", path)
            ans = _pick_column(header, answer_column, "--answer-column", path)
            has_gt = gt_column is not None and gt_column.strip().lower() in {h.strip().lower() for h in header}
            gtc = _pick_column(header, gt_column, "--gt-column", path) if has_gt else None
            ik, ia, ig = header.index(key), header.index(ans), header.index(gtc) if gtc else None
            for row in reader:
                rows += 1
                if rows > MAX_ROWS:
                    raise DataError(f"{path}: more than {MAX_ROWS:,} rows; that is not an answers file for a face set")
                if not row or all(not c.strip() for c in row):
                    skipped["empty row"] += 1
                    continue
                if len(row) != len(header):
                    skipped[f"row with {len(row)} fields instead of {len(header)}"] += 1
                    continue
                name = row[ik].strip()
                if not name:
                    skipped["row without a name"] += 1
                    continue
                if name in answers or name in conflicting:
                    if name in answers and answers[name] != row[ia]:
                        conflicting.add(name)  # two different answers for one face: neither is kept
                        del answers[name]
                        gt.pop(name, None)
                    skipped["repeated name"] += 1
                    continue
                answers[name] = row[ia]
                if ig is not None:
                    gt[name] = row[ig].strip()
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV at line {reader.line_num} ({exc}); fields are limited to "
                        f"{MAX_FIELD} characters") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); is it really a CSV?") from None
    if conflicting:
        skipped["name repeated with a different answer (face left unanswered)"] = len(conflicting)
    if not answers:
        raise DataError(f"{path}: no usable answer rows ({dict(skipped) or 'the file has a header only'})")
    return AnswerFile(str(path), answers, gt if gtc else None, rows,
                      {"key": key, "answer": ans, "gt": gtc}, dict(skipped))


def parse_ranked(text: str, k: int = 1, separator: str = ",") -> list[tuple[int, str]]:
    """The first ``k`` answers of a ranked list, each as ``(index, status)`` from :func:`parse_label`."""
    if not text.strip():
        return [(-1, INVALID)]
    parts = text.split(separator) if separator else [text]
    return [parse_label(p) for p in parts[:k]]


def _word(text: str) -> str:
    """An answer word as one short lower-case token, for reporting words outside the classes."""
    w = re.sub(r"\s+", " ", text.strip().lower())[:40]
    return w or "(empty)"


def _same_class(a: str, b: str) -> bool:
    """Two label words name the same class (synonyms folded; words outside the 7 classes compared as written)."""
    def norm(w: str) -> str:
        w = w.strip().lower()
        try:
            i = class_index(w)
        except KeyError:
            return w
        return CLASSES[i] if i >= 0 else w
    return norm(a) == norm(b)


@dataclass
class Matched:
    """The faces of a face set that have an answer, in the face set's order, with the predictions."""

    faces: FaceSet
    pred: np.ndarray
    info: dict


def pick_name_array(answers: AnswerFile, fs: FaceSet, match_on: str | None = None) -> str:
    """The face set's name array to match on: ``match_on``, else the one naming the most answer rows."""
    if not fs.names:
        raise DataError(f"{fs.source}: the faces carry no names to match answers with; use an .npz with a "
                        "name array such as 'ferplus_image_name'")
    if match_on is not None:
        if match_on not in fs.names:
            raise DataError(f"{fs.source}: no name array {match_on!r}; it has {', '.join(fs.names)} (--match-on)")
        return match_on
    hits = {k: int(np.isin(v, list(answers.answers)).sum()) for k, v in fs.names.items()}
    best = max(hits, key=hits.get)
    if hits[best] == 0:
        theirs = ", ".join(repr(n[:40]) for n in list(answers.answers)[:3])
        ours = ", ".join(f"{k} ({v[0]!r}, ...)" for k, v in fs.names.items() if len(v))
        raise DataError(f"{answers.path}: no row names a face of {fs.source} (the file's names: {theirs}; the "
                        f"faces' names: {ours or 'none in this split'}); check --key-column, --match-on and --split")
    return best


def match_answers(answers: AnswerFile, fs: FaceSet, *, match_on: str | None = None, top_k: int = 1,
                  separator: str = ",", labels_from_file: bool = False, split_names=None) -> Matched:
    """Pair each face with its answer by name and turn the answers into predictions.

    Top-1 (default): the first answer is the prediction (``-1`` when it is not one of the classes).
    Top-k: a face counts as right when its label is among the first ``k`` answers; otherwise the
    first answer stands. Faces without an answer and answer rows without a face are counted and
    listed (the first few) in ``info``. ``labels_from_file`` scores against the file's own labels
    (mapped to the 7 classes; contempt and unknown words left out and counted), and adds how often
    the first answer equals them over every class the file uses, as its authors scored it.
    ``split_names``: the name arrays of the split before a label set left faces out (e.g. those without a
    FER+ majority), so answers for such faces are told apart from answers naming no face at all.
    """
    if top_k < 1:
        raise DataError("--top-k must be at least 1")
    key = pick_name_array(answers, fs, match_on)
    names = fs.names[key]
    has = np.isin(names, list(answers.answers))
    in_faces = set(names[has].tolist())
    extra = [n for n in answers.answers if n not in in_faces]
    unlabelled = set(extra) & set(split_names[key].tolist()) if split_names and key in split_names else set()
    extra = [n for n in extra if n not in unlabelled]
    faces = fs.subset(has)
    info: dict = {}
    if labels_from_file:
        info["file_label_agreement"] = file_label_agreement(answers, faces.names[key], separator)
        faces, info["left_out_by_file_label"] = _file_labels(answers, faces, key)
    pred = np.full(len(faces), -1, dtype=np.int64)
    first_status: Counter = Counter()
    outside: Counter = Counter()
    for i, name in enumerate(faces.names[key]):
        text = answers.answers[name]
        ranked = parse_ranked(text, top_k, separator)
        idx, status = ranked[0]
        first_status[status] += 1
        if status != OK:
            outside[_word(text.split(separator)[0] if separator else text)] += 1
        hits = [j for j, s in ranked if s == OK and j == faces.labels[i]]
        pred[i] = hits[0] if hits else idx
    missing = names[~has]
    n = max(len(faces), 1)
    info.update({
        "answers_file": answers.path, "answer_rows": answers.rows, "answer_columns": answers.columns,
        "skipped_rows": answers.skipped, "match_on": key, "top_k": top_k, "separator": separator,
        "faces_in_split": int(len(fs)), "matched": int(has.sum()),
        "faces_without_answer": int(len(missing)), "faces_without_answer_first": missing[:_SHOWN].tolist(),
        "answers_for_unlabelled_faces": len(unlabelled),
        "answers_without_face": len(extra), "answers_without_face_first": extra[:_SHOWN],
        "invalid_answers": first_status[INVALID], "refusals": first_status[REFUSAL],
        "invalid_rate": first_status[INVALID] / n, "refusal_rate": first_status[REFUSAL] / n,
        "answers_outside_classes": dict(outside.most_common(20)),
    })
    return Matched(faces, pred, info)


def file_label_agreement(answers: AnswerFile, names, separator: str = ",") -> dict:
    """How often the first answer equals the file's own label on the given rows, over every class the
    file uses (contempt included): how the file's authors scored it, for checking their figure."""
    if answers.gt is None:
        raise DataError(f"{answers.path}: no label column to score against (--gt-column)")
    names = list(names)
    same = sum(_same_class((answers.answers[n].split(separator) if separator else [answers.answers[n]])[0],
                           answers.gt[n]) for n in names)
    return {"rows": len(names), "first_answer_matches": int(same), "rate": same / max(len(names), 1),
            "classes": sorted({_word(answers.gt[n]) for n in names})}


def _file_labels(answers: AnswerFile, faces: FaceSet, key: str) -> tuple[FaceSet, dict]:
    """The faces relabelled with the file's own labels; labels outside the 7 classes are left out and counted."""
    if answers.gt is None:
        raise DataError(f"{answers.path}: --labels answers needs the file's label column (--gt-column)")
    y = np.full(len(faces), -1, dtype=np.int64)
    dropped: Counter = Counter()
    for i, name in enumerate(faces.names[key]):
        word = answers.gt[name]
        try:
            y[i] = class_index(word)
        except KeyError:
            dropped[f"label {_word(word)!r} is not a known class"] += 1
            continue
        if y[i] < 0:
            dropped[f"label {_word(word)!r} is outside the 7 classes"] += 1
    keep = y >= 0
    out = faces.subset(keep)
    out.labels = y[keep]
    out.dropped = {**faces.dropped, **dropped}
    return out, dict(dropped)
