"""The README's worked example for photos runs as written (with the data where ``$EDGEEMO_DATA`` says)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_readme_analyze_photos_python_example_runs(data_dir, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", _section("Analyze photos"), re.S)
    assert blocks, "the Analyze photos section has no Python example"
    code = "\n".join(blocks).replace("../shared/data", str(data_dir))
    (tmp_path / "example.py").write_text(code)
    proc = subprocess.run([sys.executable, str(tmp_path / "example.py")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(r"\(-?\d+, -?\d+, \d+, \d+\) \w+ \d+% \[\[", lines[0]), lines[0]
    assert any("INT8" in line or "FP32" in line for line in lines)
    assert sum("/surprise/" in line and line.endswith(" ms") for line in lines) == 8
    assert lines[-1].startswith("<array 8>")


def test_readme_names_the_commands_it_documents():
    section = _section("Analyze photos")
    for cmd in ("edgeemo analyze", "--labels-from-folders", "--json", "--csv", "--save-annotated", "--every",
                "--detector haar", "--no-align"):
        assert cmd in section, cmd
