"""``edgeemo compare`` from the command line: the torch reference row, the table and the files it writes."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from conftest import synthetic_faces


def test_compare_against_torch_writes_its_files_and_leaves_the_reference_ratio_empty(default_checkpoint, tmp_path):
    from edgeemo.cli import main

    images, labels = synthetic_faces(40, seed=2)
    data = tmp_path / "faces.npz"
    np.savez(data, images=images, labels=labels)
    out_json, out_md = tmp_path / "c.json", tmp_path / "c.md"
    res = CliRunner().invoke(main, ["compare", "--model", str(default_checkpoint), "--data", str(data),
                                    "--split", "all", "--format", "onnx", "--precision", "fp32",
                                    "--out", str(tmp_path / "exp"), "--json", str(out_json), "--md", str(out_md)])
    assert res.exit_code == 0, res.output
    assert f"wrote {out_json}" in res.output and f"wrote {out_md}" in res.output
    result = json.loads(out_json.read_text())
    ref, onnx = result["records"]
    assert ref["reference"] and ref["backend"] == "torch" and onnx["format"] == "onnx" and onnx["n"] == 40
    # FP32 against FP32 of the same backend: the torch row has no such partner, the ONNX row is its own
    assert "latency_vs_fp32_same_backend" not in ref and onnx["latency_vs_fp32_same_backend"] == 1.0
    assert onnx["agreement_top1"] >= 0.95  # the same weights exported
    md = out_md.read_text()
    torch_row = next(line for line in md.splitlines() if line.startswith("| torch (ref)"))
    assert torch_row.endswith("|  |"), torch_row
    assert "nan" not in res.output.lower() and "nan" not in md.lower()
