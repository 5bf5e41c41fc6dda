"""The package's shape: no import circle, runtime code free of build-time code, short functions."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "edgeemo"
# The files whose long functions were cut into named steps; each function stays readable at once.
SHORT_FUNCTION_FILES = (
    "training/trainer.py", "bench/remote.py", "demo/pipeline.py", "bench/command.py", "compare.py",
    "data/fer_csv.py", "vlm/run.py", "data/npz.py", "bench/sweep.py", "data/folders.py", "export/pipeline.py",
    "export/onnx_int8.py", "bench/worker.py", "bench/report.py", "bench/profiles.py", "bench/artifacts.py",
    "export/cache.py", "selection.py", "scoring.py",
)
MAX_LINES = 60


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module → edgeemo modules it imports, at module level or inside functions (lazy imports count:
    they are dependencies all the same)."""
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != mod and t.startswith("edgeemo"):
                    graph[mod].add(t)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every set of modules that import each other, directly or round a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    graph = import_graph()
    assert len(graph) > 50 and "edgeemo.selection" in graph["edgeemo.evaluate"]  # the graph is really read
    circles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert circles == [], circles


def test_circle_detection_finds_a_circle():
    assert [c for c in strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) if len(c) > 1] == [
        ["a", "b", "c"]]


def test_runtime_backends_import_nothing_from_export():
    graph = import_graph()
    backends = [m for m in graph if m.startswith("edgeemo.backends")]
    assert len(backends) >= 6
    for m in backends:
        assert not any(t.startswith("edgeemo.export") for t in graph[m]), (m, graph[m])


def function_lengths(path: Path) -> list[tuple[int, str]]:
    """(lines, name) of every function and method, from its ``def`` line to its last line."""
    tree = ast.parse(path.read_text())
    return [(n.end_lineno - n.lineno + 1, n.name) for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_functions_in_the_restructured_files_are_short():
    long = [(f, name, n) for f in SHORT_FUNCTION_FILES for n, name in function_lengths(PKG / f) if n > MAX_LINES]
    assert long == [], long


def _class_members(path: Path, cls: str) -> set[str]:
    """Names a class defines: class attributes, methods and properties, and ``self.X`` it assigns."""
    node = next(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef) and n.name == cls)
    names = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    names |= {t.id for n in node.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    names |= {t.attr for n in ast.walk(node) if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
    return names


def test_vlm_backends_share_one_interface_and_the_run_never_asks_which_one_it_has():
    """vlm_evaluate works through what every backend has (its summary included); it branches on what a
    backend declares (one face per prompt or many), never on a backend's name, outside the factory."""
    used = {"name", "one_face_per_prompt", "model_name", "model_calls", "resume_hint", "identity", "params",
            "summary"}
    for rel, cls in (("vlm/llava.py", "LlavaBackend"), ("vlm/openai_backend.py", "OpenAIBackend")):
        missing = used - _class_members(PKG / rel, cls) - {"resume_hint"}  # vlm_evaluate sets resume_hint
        assert not missing, (cls, missing)
    for fn in ast.walk(ast.parse((PKG / "vlm" / "run.py").read_text())):
        if isinstance(fn, ast.FunctionDef) and fn.name != "make_backend":
            for cmp in (n for n in ast.walk(fn) if isinstance(n, ast.Compare)):
                names = {c.value for c in (cmp.left, *cmp.comparators) if isinstance(c, ast.Constant)}
                assert not names & {"llava", "openai"}, f"{fn.name}: {ast.unparse(cmp)}"
