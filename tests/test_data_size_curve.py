"""The data-size curve's pieces that decide its figures: stratified nested subsets and the crossover."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import data_size_curve as dsc  # noqa: E402


def test_subsets_are_stratified_nested_and_seeded():
    rng = np.random.default_rng(0)
    labels = rng.choice(7, size=5000, p=[0.14, 0.015, 0.145, 0.25, 0.17, 0.11, 0.17])
    small, big = dsc.stratified_subset(labels, 70, 1), dsc.stratified_subset(labels, 700, 1)
    assert len(small) == 70 and len(big) == 700 and len(set(big)) == 700
    assert set(small) <= set(big)  # one seed's subsets are nested
    counts = np.bincount(labels[big], minlength=7)
    share = np.bincount(labels, minlength=7) / len(labels) * 700
    assert np.all(np.abs(counts - share) <= 1)  # the classes' proportions, to a face
    assert np.bincount(labels[small], minlength=7).min() >= 1  # every class, even the rarest
    assert not np.array_equal(small, dsc.stratified_subset(labels, 70, 2))
    assert np.array_equal(small, dsc.stratified_subset(labels, 70, 1))


def _point(model, n, seed, fer, ferplus, size=None):
    return {"model": model, "size": size or n, "n_train": n, "seed": seed,
            "scores": {"fer2013": {"accuracy": fer}, "ferplus": {"accuracy": ferplus}}}


def test_crossover_is_interpolated_on_log_size_between_the_means():
    points = [_point("m", 100, 0, 0.20, 0.30), _point("m", 100, 1, 0.30, 0.30),
              _point("m", 1000, 0, 0.50, 0.40), _point("m", 10000, 0, 0.70, 0.50),
              _point("m", 10000, 0, 0.95, 0.95, size="full")]  # a control: never part of the crossover
    s = dsc.summarize(points, {"fer2013": {"accuracy": 0.60}, "ferplus": {"accuracy": 0.90}})["m"]
    assert s["curve"][0]["fer2013"] == {"mean": pytest.approx(0.25), "min": 0.20, "max": 0.30}
    fer = s["crossover"]["fer2013"]
    assert fer["first_size_at_or_above"] == 10000 and fer["last_size_below"] == 1000
    assert fer["interpolated_size"] == round(10 ** 3.5)  # halfway from 0.50 to 0.70 on a log axis
    assert s["crossover"]["ferplus"]["first_size_at_or_above"] is None  # never reached: stated, not invented
    assert s["control"]["fer2013"]["mean"] == 0.95 and len(s["curve"]) == 3
    full = dsc.summarize(points[:3] + [_point("m", 28000, 0, 0.7, 0.7, size="all")], {"fer2013": {"accuracy": 0.6}})
    cross = full["m"]["crossover"]["fer2013"]  # reached only by the full schedule: no size is interpolated
    assert cross["first_size_at_or_above"] == 28000 and cross["interpolated_size"] is None and "budget" in cross["note"]


def test_runs_made_in_parallel_processes_merge_into_one_curve(tmp_path):
    import json

    config = {"budget": dsc.BUDGET, "select_faces": dsc.SELECT_FACES, "select_at": dsc.SELECT_AT, "answers": "a.csv"}
    gpt = {"fer2013": {"accuracy": 0.5, "n": 10}, "ferplus": {"accuracy": 0.6, "n": 9}}
    for model in ("cnn2", "edgenet"):
        doc = {"config": config, "metadata": {"command": f"python x --models {model}"}, "gpt4v": gpt,
               "points": [_point(model, 70, 0, 0.3, 0.3), _point(model, 7000, 0, 0.6, 0.7)]}
        (tmp_path / f"{model}.json").write_text(json.dumps(doc))
    dsc.main(["--data", "unused.npz", "--answers", "a.csv", "--fresh", "--out", str(tmp_path / "all"),
              "--merge", str(tmp_path / "cnn2.json"), str(tmp_path / "edgenet.json")])
    merged = json.loads((tmp_path / "all.json").read_text())
    assert len(merged["points"]) == 4 and set(merged["summary"]) == {"cnn2", "edgenet"}
    assert [s["runs"] for s in merged["metadata"]["merged_from"]] == [2, 2]
    assert merged["summary"]["edgenet"]["crossover"]["fer2013"]["first_size_at_or_above"] == 7000
    assert (tmp_path / "all.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="more than one file"):  # the same run twice
        dsc.main(["--data", "u.npz", "--answers", "a.csv", "--fresh", "--out", str(tmp_path / "twice"),
                  "--merge", str(tmp_path / "cnn2.json"), str(tmp_path / "cnn2.json")])
