"""Run the bench on another machine over SSH: ``edgeemo bench --device jetson --host user@board``.

Uses the system ``ssh`` and ``scp`` (BatchMode: keys only, never a password prompt). The
portable artifacts (FP32/FP16/INT8 ONNX, OpenVINO IR) are built here; TensorRT engines are built
on the board because an engine only runs on the GPU and TensorRT version it was built with. The
labelled faces travel as a small subset (the evaluated split after ``--limit``, plus Training and
PublicTest samples for INT8 calibration). The board runs ``python3 -m edgeemo.cli bench`` in a
temporary folder and its JSON comes back.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import EdgeemoError
from ..export.cache import MANIFEST, ArtifactCache, cache_folder
from ..formats import format_of
from ..version import code_version
from .artifacts import build_all, plan_builds, resolve_sources
from .faces import write_subset
from .profiles import Profile
from .sweep import BenchOptions, Row, row_record, target_pairs


class RemoteError(EdgeemoError):
    """The board could not be reached or could not run the bench."""


def parse_host(host: str) -> tuple[str, int | None]:
    """``user@board``, ``user@board:2222`` or ``ssh://user@board:2222`` -> (destination, port)."""
    h = host.removeprefix("ssh://")
    m = re.fullmatch(r"(.+?)(?::(\d+))?", h)
    if not m or not m.group(1) or h.startswith(("-", "@")):
        raise RemoteError(f"{host!r}: give the board as user@host or user@host:port")
    return m.group(1), int(m.group(2)) if m.group(2) else None


class Remote:
    """One board reached with ``ssh``/``scp``; ``options`` are extra ``-o KEY=VALUE`` settings."""

    def __init__(self, host: str, options: tuple[str, ...] = (), python: str = "python3",
                 connect_timeout: int = 15) -> None:
        for tool in ("ssh", "scp"):
            if shutil.which(tool) is None:
                raise RemoteError(f"'{tool}' is not installed here; install OpenSSH's client (apt install "
                                  "openssh-client) to bench a board over SSH")
        self.host = host
        self.dest, self.port = parse_host(host)
        self.python = python
        self.opts = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
        for o in options:
            self.opts += ["-o", o]

    def _ssh_args(self, command: str) -> list[str]:
        return ["ssh", *self.opts, *(["-p", str(self.port)] if self.port else []), self.dest, command]

    def run(self, command: str, timeout: float | None = 120) -> subprocess.CompletedProcess:
        try:
            res = subprocess.run(self._ssh_args(command), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RemoteError(f"{self.host}: no answer within {timeout:.0f} s to {command[:80]!r}") from exc
        if res.returncode == 255:
            raise RemoteError(f"{self.host}: ssh could not connect or log in ({_tail(res.stderr)}). "
                              "Check that 'ssh -o BatchMode=yes HOST true' works: a key in ~/.ssh (ssh-copy-id), "
                              "the host key accepted, and the right user and port")
        return res

    def stream(self, command: str, log: Callable[[str], object]) -> tuple[int, str]:
        """Run ``command``, echoing its output line by line; returns (exit code, output)."""
        proc = subprocess.Popen(self._ssh_args(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        lines = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                log(f"[{self.dest}] {line.rstrip()}")
            return proc.wait(), "".join(lines)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)

    def _scp(self, args: list[str], timeout: float) -> None:
        cmd = ["scp", "-q", "-p", "-r", *self.opts, *(["-P", str(self.port)] if self.port else []), *args]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RemoteError(f"{self.host}: copying took over {timeout:.0f} s") from exc
        if res.returncode != 0:
            raise RemoteError(f"{self.host}: scp failed ({_tail(res.stderr)}); the board needs an SFTP server "
                              "(OpenSSH's default 'Subsystem sftp')")

    def put(self, local: list[Path], remote_dir: str, timeout: float = 600) -> None:
        self._scp([*map(str, local), f"{self.dest}:{remote_dir}/"], timeout)

    def get(self, remote_path: str, local: Path, timeout: float = 120) -> None:
        self._scp([f"{self.dest}:{remote_path}", str(local)], timeout)

    def check(self) -> dict:
        """The board's Python and edgeemo versions, or an error saying what to install."""
        py = shlex.quote(self.python)
        probe = ("import sys, platform\ntry:\n import edgeemo\n v = edgeemo.__version__\n"
                 "except ImportError:\n v = None\n"
                 "print('EDGEEMO_PROBE', sys.version.split()[0], v, platform.machine())")
        res = self.run(f"command -v {py} >/dev/null 2>&1 || {{ echo NO_PYTHON; exit 0; }}; "
                       f"{py} -c {shlex.quote(probe)}")
        if "NO_PYTHON" in res.stdout:
            raise RemoteError(f"{self.host}: there is no '{self.python}' on the board; install Python 3.10+ there, "
                              "or point --remote-python at it (e.g. --remote-python /home/user/venv/bin/python)")
        m = re.search(r"EDGEEMO_PROBE (\S+) (\S+) (\S+)", res.stdout)
        if not m:
            raise RemoteError(f"{self.host}: '{self.python}' did not run ({_tail(res.stderr or res.stdout)})")
        if m.group(2) == "None":
            raise RemoteError(f"{self.host}: edgeemo is not installed for {self.python} on the board; there, run  "
                              "pip install 'edgeemo[openvino,quantize]'  (or --remote-python pointing at the "
                              "environment that has it)")
        return {"python": m.group(1), "edgeemo": m.group(2), "arch": m.group(3)}


def _tail(text: str, n: int = 3) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-600:] or "no output"


def _portable_pairs(profile: Profile, opts: BenchOptions) -> list[tuple[str, str]]:
    """The artifacts built here and copied over: everything but TensorRT engines (built on the board)."""
    pairs = [(format_of(t.backend), p) for t, p in target_pairs(profile, opts) if t.backend != "tensorrt"]
    return list(dict.fromkeys([("onnx", "fp32"), *pairs]))


def _stage_models(models: list[str], profile: Profile, opts: BenchOptions, export_dir: Path, data,
                  stage: Path, log) -> tuple[list[str], list[dict]]:
    """Build (or reuse) the portable artifacts here and copy each model's cache folder into ``stage``.
    Returns the FP32 files the board benches and the rows of models that cannot go."""
    pairs = _portable_pairs(profile, opts)
    sources = resolve_sources(models)
    build = dict(data=data, budget=opts.export_budget, n_calib=opts.n_calib, rebuild=opts.rebuild)
    log(plan_builds(sources, pairs, export_dir, **build).describe())
    build_all(sources, pairs, export_dir, **build, log=log)
    remote_models, local_rows = [], []
    for s in sources:
        if s.status != "ok":
            local_rows.append(row_record(Row(s.label, s.ref, None, None, record={"status": s.status,
                                                                                  "reason": s.reason})))
            continue
        cache = ArtifactCache(cache_folder(s.ident, export_dir), s.ident, s.path)
        rel = cache.folder.relative_to(export_dir)
        for f in [*cache.files(), cache.folder / MANIFEST]:
            dst = stage / "export" / rel / f.relative_to(cache.folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dst)
        remote_models.append(f"export/{rel.as_posix()}/{cache.entries['onnx/fp32']['file']}")
    return remote_models, local_rows


def _board_command(profile: Profile, remote_models: list[str], data_info: dict | None, opts: BenchOptions,
                   force: bool) -> list[str]:
    """The ``edgeemo bench`` arguments the board runs: the same settings, on the copied files."""
    args = ["-m", "edgeemo.cli", "bench", "--device", f"{profile.name}{Path(profile.path).suffix}",
            "--model", ",".join(remote_models), "--export-dir", "export", "--out", "results/bench", "--no-plot"]
    if data_info:
        args += ["--data", "faces.npz", "--split", data_info["split"]]
    for flag, key in (("--threads", "threads"), ("--warmup", "warmup"), ("--min-runs", "min_runs"),
                      ("--min-seconds", "min_seconds"), ("--max-seconds", "max_seconds"),
                      ("--throughput-batch", "throughput_batch"), ("--throughput-seconds", "throughput_min_seconds"),
                      ("--timeout", "timeout_s"), ("--budget", "budget")):
        if getattr(opts, key) is not None:
            args += [flag, str(getattr(opts, key))]
    args += [a for b in opts.backends for a in ("--backend", b)]
    args += [a for p in opts.precisions for a in ("--precision", p)]
    return args + (["--force"] if force else [])


def _make_workdir(remote: Remote, remote_dir: str | None) -> str:
    if remote_dir:
        remote.run(f"mkdir -p {shlex.quote(remote_dir)}")
        return remote_dir
    res = remote.run("mktemp -d \"${TMPDIR:-/tmp}/edgeemo-bench.XXXXXX\"")
    workdir = res.stdout.strip().splitlines()[-1] if res.returncode == 0 and res.stdout.strip() else None
    if not workdir:
        raise RemoteError(f"{remote.host}: could not make a working folder ({_tail(res.stderr)})")
    return workdir


def _run_on_board(remote: Remote, workdir: str, cmd: str, tmp: Path, log) -> tuple[dict, bool]:
    """Run the bench on the board, echoing its output; returns its result and whether Ctrl-C stopped it."""
    log(f"{remote.host}: {cmd}")
    interrupted = False
    try:
        code, output = remote.stream(cmd, log)
    except KeyboardInterrupt:
        interrupted, code, output = True, 130, ""
    local_json = tmp / "bench.json"
    try:
        remote.get(f"{workdir}/results/bench.json", local_json)
    except RemoteError:
        if interrupted:
            raise KeyboardInterrupt from None
        errs = [ln for ln in output.splitlines() if "error" in ln.lower()]
        raise RemoteError(f"{remote.host}: the bench failed on the board (exit code {code}): "
                          f"{_tail(chr(10).join(errs) or output)}") from None
    return json.loads(local_json.read_text()), interrupted


def _remove_workdir(remote: Remote, workdir: str, log) -> bool:
    try:
        return remote.run(f"rm -rf {shlex.quote(workdir)}", timeout=60).returncode == 0
    except RemoteError:
        log(f"{remote.host}: could not remove {workdir}")
        return False


def run_remote(
    host: str,
    profile: Profile,
    models: list[str],
    *,
    data: str | Path | None = None,
    split: str | None = "auto",
    limit: int | None = None,
    export_dir: str | Path = "export",
    opts: BenchOptions | None = None,
    ssh_options: tuple[str, ...] = (),
    python: str = "python3",
    remote_dir: str | None = None,
    keep: bool = False,
    force: bool = False,
    command: str | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    """Bench ``models`` on the board at ``host`` with ``profile``; returns the bench result."""
    opts = opts or BenchOptions()
    remote = Remote(host, ssh_options, python)
    info = remote.check()
    log(f"{host}: Python {info['python']}, edgeemo {info['edgeemo']}, {info['arch']}")
    with tempfile.TemporaryDirectory(prefix="edgeemo-remote-") as tmp:
        stage = Path(tmp) / "stage"
        (stage / "export").mkdir(parents=True)
        shutil.copyfile(profile.path, stage / f"{profile.name}{Path(profile.path).suffix}")
        remote_models, local_rows = _stage_models(models, profile, opts, Path(export_dir), data, stage, log)
        data_info = write_subset(data, split, limit, stage / "faces.npz", n_calib=opts.n_calib) if data else None
        if not remote_models:
            raise RemoteError("no model to bench on the board: " + "; ".join(r["reason"] for r in local_rows))
        workdir = _make_workdir(remote, remote_dir)
        removed = False
        try:
            log(f"{host}: copying artifacts{' and faces' if data else ''} to {workdir}")
            remote.put(sorted(stage.iterdir()), workdir)
            args = _board_command(profile, remote_models, data_info, opts, force)
            cmd = f"cd {shlex.quote(workdir)} && {shlex.quote(python)} " + " ".join(map(shlex.quote, args))
            result, interrupted = _run_on_board(remote, workdir, cmd, Path(tmp), log)
        finally:
            removed = False if keep else _remove_workdir(remote, workdir, log)
    result["records"] += local_rows
    meta = result["metadata"]
    meta["remote"] = {"host": host, "workdir": workdir, "removed": removed, "local_command": command,
                      "local_code_version": code_version(), **info}
    if data_info:
        meta["data"] = data_info
    if interrupted:
        meta["interrupted"] = True
    return result
