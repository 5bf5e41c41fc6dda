"""``vlm-eval --backend published``: a vision LLM scored from its published answers instead of calls.

The faces come from the data (split, limit, label set as in ``edgeemo eval``), the answers from the
answers file (:mod:`edgeemo.vlm.answers`), matched by name; the metrics are ``edgeemo eval``'s. With
``against``, a trained model is scored on exactly the faces the answers cover, side by side.
"""

from __future__ import annotations

from pathlib import Path

from ..data import FaceSet
from ..errors import EdgeemoError
from ..labels import label_set_name
from ..metrics import classification_metrics
from ..selection import select_faces
from .answers import match_answers, read_answers


def evaluate_published(
    answers: str | Path,
    data: str | Path | FaceSet,
    *,
    labels: str = "fer2013",
    split: str | None = "auto",
    limit: int | None = None,
    key_column: str = "name",
    answer_column: str = "gpt4v",
    gt_column: str | None = "gt",
    separator: str = ",",
    match_on: str | None = None,
    top_k: int = 1,
    name: str | None = None,
    against: str | Path | None = None,
    threads: int | None = None,
) -> dict:
    """Score the answers in ``answers`` on the faces of ``data`` they name.

    ``labels``: ``fer2013``, ``ferplus`` (the FER+ majority; faces without one are left out) or
    ``answers`` (the file's own label column, ``gt_column``). Returns ``edgeemo eval``'s metrics over
    the faces that have an answer, plus the matching report (see :func:`match_answers`) and, with
    ``against`` (a model reference), ``side_by_side``. ``name`` labels the answers (default: the file's stem).
    """
    from ..evaluate import predict_faces

    af = read_answers(answers, key_column=key_column, answer_column=answer_column,
                      gt_column=gt_column)
    sel = select_faces(data, split=split, limit=limit, labels="fer2013" if labels == "answers" else labels)
    fs, split = sel.faces, sel.split
    # With FER+ labels, the split's names before faces without a majority were left out: answers for
    # those faces are then reported as such, not as answers naming no face.
    split_names = None
    if labels == "ferplus" and not isinstance(data, FaceSet) and limit is None:
        split_names = select_faces(data, split=split).faces.names
    m = match_answers(af, fs, match_on=match_on, top_k=top_k, separator=separator,
                      labels_from_file=labels == "answers", split_names=split_names)
    if len(m.faces) == 0:
        raise EdgeemoError(f"{af.path}: none of the {len(fs)} faces of {fs.source} ({split}) has an "
                           "answer with a usable label")
    res = classification_metrics(m.faces.labels, m.pred)
    name = name or Path(af.path).stem
    res.update({
        "model": name, "backend": "published", "data": fs.source, "split": split, "labels": labels,
        "labels_description": label_set_name(labels), "dropped": m.faces.dropped, **m.info,
    })
    if against is not None:
        from ..side_by_side import side_by_side

        pred, who = predict_faces(against, m.faces, threads=threads)
        model = f"{who['model']} {who['precision']}" if who.get("precision") else who["model"]
        res["side_by_side"] = {**side_by_side(m.faces.labels, (name, m.pred), (model, pred)),
                               "model_file": who["model_file"], "model_backend": who["backend"],
                               "model_precision": who.get("precision")}
    return res
