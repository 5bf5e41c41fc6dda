"""The bench's Pareto plot: every row labelled, no two labels on top of each other, a legend for
colour (runtime) and marker (precision)."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("matplotlib", reason="the plot needs the 'plot' extra (matplotlib)")


def _result(rows: list[tuple[str, str, str, float, float]]) -> dict:
    recs = [{"model": m, "backend": b, "precision": p, "device": "cpu", "status": "ok",
             "latency_ms": {"p50": lat}, "accuracy": acc} for m, b, p, lat, acc in rows]
    meta = {"threads": 1, "device_profile": {"name": "cpu"}, "cpu": {"model": "test CPU"},
            "data": {"split": "PrivateTest", "n": 500}}
    return {"metadata": meta, "records": recs}


def test_labels_of_crowded_points_do_not_overlap_and_the_legend_says_what_colour_and_marker_mean(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeemo.bench.report import pareto_figure, plot_pareto

    # the rows that used to print over each other: same model, nearly the same latency and accuracy
    rows = [("vgg16", b, p, 17.5 + 0.3 * i, 0.240 + 0.001 * (i % 2))
            for i, (b, p) in enumerate(itertools.product(("onnxruntime", "openvino"), ("fp32", "fp16")))]
    rows += [("edgenet", "onnxruntime", "int8", 1.2, 0.66), ("edgenet", "openvino", "int8", 1.19, 0.654)]
    fig, boxes = pareto_figure(_result(rows), plt)
    assert len(boxes) == len(rows)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"onnxruntime", "openvino", "fp32", "fp16", "int8", "Pareto front"} <= set(legend)
    plt.close(fig)
    out = tmp_path / "p.png"
    assert plot_pareto(_result(rows), out) is None and out.read_bytes()[:4] == b"\x89PNG"
