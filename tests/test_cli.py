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
