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


def test_readme_api_cost_table_is_what_estimate_prints():
    """Every figure of the README's vision-LLM cost table is what ``vlm-eval --estimate`` computes for
    FER2013 PrivateTest's 3,573 faces (20 faces a request, 1 a request, and the Batch API)."""
    from edgeemo.vlm.run import estimate_run

    text = (REPO / "README.md").read_text()
    n = int(re.search(r"Cost of FER2013 PrivateTest \(([\d,]+) faces", text).group(1).replace(",", ""))
    rows = re.findall(r"^\| (gpt-[\w.-]+)[^|]* \|(.*)$", text, re.M)
    assert {m for m, _ in rows} >= {"gpt-4o", "gpt-4.1", "gpt-4o-mini", "gpt-4.1-mini"}, rows
    counted = []
    for model, cells in rows:
        shown = [float(v) for v in re.findall(r"≈ \$([\d.]+)", cells)]
        est = [estimate_run(model, n, batch_size=b, batch_api=api) for b, api in ((20, False), (1, False), (20, True))]
        assert shown == [round(e["cost_usd"], 2) for e in est], (model, shown, est)
        m = re.search(r"([\d,]+) requests, ([\d,]+) in / ([\d,]+) out tokens", cells)
        if m:
            counted.append(model)
            assert [int(g.replace(",", "")) for g in m.groups()] == [est[0]["requests"], est[0]["tokens_in"],
                                                                    est[0]["tokens_out"]], (model, est[0])
    assert "gpt-4o" in counted  # the row that spells out requests and tokens


def test_readme_private_test_face_count_is_the_loaders(fer_npz):
    from edgeemo.selection import select_faces

    text = (REPO / "README.md").read_text()
    n = int(re.search(r"Cost of FER2013 PrivateTest \(([\d,]+) faces", text).group(1).replace(",", ""))
    assert len(select_faces(fer_npz, split="PrivateTest").faces) == n
