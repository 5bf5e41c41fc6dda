"""The CLI prints file names and pip commands verbatim: square brackets are not read as style tags."""

from __future__ import annotations

import io

from click.testing import CliRunner

from edgeemo.cli import main
from edgeemo.console_log import make_console
from edgeemo.errors import MissingExtraError


def test_error_keeps_brackets_in_file_names(tmp_path):
    missing = tmp_path / "faces[openvino].npz"
    res = CliRunner().invoke(main, ["eval", "--model", "default", "--data", str(missing)])
    assert res.exit_code == 2
    assert f"error: {missing}: no such file or folder" in res.output.replace("\n", "")
    assert "Traceback" not in res.output


def test_library_log_keeps_pip_extras():
    buf = io.StringIO()
    make_console(file=buf, width=200).print(str(MissingExtraError("openvino", "openvino", "OpenVINO export")))
    assert "run  pip install 'edgeemo[openvino]'" in buf.getvalue()


def test_tables_written_to_a_pipe_keep_every_column_whole(tmp_path):
    """Output to a file or pipe is not squeezed to a terminal's width (COLUMNS=40 here): no column is
    cut short with an ellipsis, and each table row stays on one line."""
    import os
    import subprocess
    import sys

    import numpy as np
    from conftest import REPO, synthetic_faces

    images, labels = synthetic_faces(20, seed=1)
    np.savez(tmp_path / "faces.npz", images=images, labels=labels)
    env = {**os.environ, "COLUMNS": "40", "PYTHONPATH": str(REPO)}
    for args in (["bench", "--list-devices"],
                 ["eval", "--model", "default", "--data", str(tmp_path / "faces.npz"), "--split", "all"]):
        proc = subprocess.run([sys.executable, "-m", "edgeemo.cli", *args], capture_output=True, text=True,
                              env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "…" not in proc.stdout, proc.stdout
        assert max(len(line) for line in proc.stdout.splitlines()) > 40
    assert "macro precision" in proc.stdout and "balanced acc." in proc.stdout  # eval's headers, whole


def test_model_names_in_the_help_come_from_the_registry():
    from edgeemo.models import PAPER_MODELS, REGISTRY

    res = CliRunner().invoke(main, ["train", "--help"], terminal_width=200)
    assert res.exit_code == 0 and f"Registry name: {', '.join(REGISTRY)} " in res.output
    res = CliRunner().invoke(main, ["bench", "--help"], terminal_width=200)
    assert f"[default: {','.join(('default', *PAPER_MODELS))}]" in res.output
    assert set(PAPER_MODELS) <= set(REGISTRY)
