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

import numpy as np

from ..errors import EdgeemoError, ModelFileError
from ..formats import format_of
from ..model_files import REGISTRY_NAMES, resolve_model
from ..version import code_version
from .profiles import Profile
from .runner import BenchOptions, Row, _model_name, _row_record, ensure_artifacts

CALIB_VAL = 1000  # PublicTest faces shipped for choosing the INT8 recipe on the board


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


def write_subset(data: str | Path, split: str | None, limit: int | None, dest: Path, n_calib: int = 512,
                 n_val: int = CALIB_VAL) -> dict:
    """The faces the board needs: the evaluated split (first ``limit``) and, where the data has
    splits, a stratified Training sample (INT8 calibration) and PublicTest sample (recipe choice)."""
    from ..data import SPLITS
    from ..selection import select_faces, stratified_subset

    sel = select_faces(data, split=split or "auto", limit=limit)
    fs, ev, split = sel.full, sel.faces, sel.split
    parts = [(ev.images, ev.labels, ev.split)]
    if (fs.split == 0).any() and (fs.split == 1).any() and split != "all":
        for name, n in (("Training", n_calib), ("PublicTest", n_val)):
            if name == split:
                continue
            s = stratified_subset(fs.get_split(name), n)
            parts.append((s.images, s.labels, s.split))
    np.savez_compressed(dest, images=np.concatenate([p[0] for p in parts]),
                        labels_fer7=np.concatenate([p[1] for p in parts]).astype(np.int8),
                        split_id=np.concatenate([p[2] for p in parts]).astype(np.int8),
                        split_names=np.array(SPLITS))
    return {"path": str(data), "split": split, "limit": limit, "n": len(ev)}


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
    local_rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="edgeemo-remote-") as tmp:
        stage = Path(tmp) / "stage"
        (stage / "export").mkdir(parents=True)
        shutil.copyfile(profile.path, stage / f"{profile.name}{Path(profile.path).suffix}")
        remote_models = []
        portable = list(dict.fromkeys((format_of(t.backend), p) for t in profile.targets for p in t.precisions
                                      if t.backend != "tensorrt"
                                      and (not opts.backends or t.backend in opts.backends)
                                      and (not opts.precisions or p in opts.precisions)))
        portable = list(dict.fromkeys([("onnx", "fp32"), *portable]))
        for ref in models:
            try:
                src = resolve_model(ref)
                name = _model_name(src)
            except ModelFileError as exc:
                status = "not trained" if ref.lower() in REGISTRY_NAMES else "failed"
                local_rows.append(_row_record(Row(ref, ref, None, None, record={"status": status,
                                                                                "reason": str(exc)})))
                continue
            local_out = Path(export_dir) / name
            ensure_artifacts(src, portable, local_out, data=data, budget=opts.export_budget, n_calib=opts.n_calib,
                             rebuild=opts.rebuild, log=log)
            stamp = json.loads((local_out / "bench.stamp.json").read_text())
            dst = stage / "export" / name
            dst.mkdir()
            for entry in stamp["artifacts"].values():
                f = local_out / entry["file"]
                for p in (f, f.with_suffix(".bin")) if f.suffix == ".xml" else (f,):
                    (dst / p.relative_to(local_out)).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, dst / p.relative_to(local_out))
            shutil.copy2(local_out / "bench.stamp.json", dst / "bench.stamp.json")
            fp32 = stamp["artifacts"]["onnx/fp32"]["file"]
            remote_models.append(f"export/{name}/{fp32}")
        data_info = None
        if data:
            data_info = write_subset(data, split, limit, stage / "faces.npz", n_calib=opts.n_calib)
        if not remote_models:
            raise RemoteError("no model to bench on the board: " + "; ".join(r["reason"] for r in local_rows))

        workdir = remote_dir
        if workdir:
            remote.run(f"mkdir -p {shlex.quote(workdir)}")
        else:
            res = remote.run("mktemp -d \"${TMPDIR:-/tmp}/edgeemo-bench.XXXXXX\"")
            workdir = res.stdout.strip().splitlines()[-1] if res.returncode == 0 and res.stdout.strip() else None
            if not workdir:
                raise RemoteError(f"{host}: could not make a working folder ({_tail(res.stderr)})")
        try:
            log(f"{host}: copying artifacts{' and faces' if data else ''} to {workdir}")
            remote.put(sorted(stage.iterdir()), workdir)
            args = ["-m", "edgeemo.cli", "bench", "--device", f"{profile.name}{Path(profile.path).suffix}",
                    "--model", ",".join(remote_models), "--export-dir", "export", "--out", "results/bench",
                    "--no-plot"]
            if data_info:
                args += ["--data", "faces.npz", "--split", data_info["split"]]
            for flag, key in (("--threads", "threads"), ("--warmup", "warmup"), ("--min-runs", "min_runs"),
                              ("--min-seconds", "min_seconds"), ("--max-seconds", "max_seconds"),
                              ("--throughput-batch", "throughput_batch"),
                              ("--throughput-seconds", "throughput_min_seconds"), ("--timeout", "timeout_s"),
                              ("--budget", "budget")):
                if getattr(opts, key) is not None:
                    args += [flag, str(getattr(opts, key))]
            for b in opts.backends:
                args += ["--backend", b]
            for p in opts.precisions:
                args += ["--precision", p]
            if force:
                args.append("--force")
            cmd = f"cd {shlex.quote(workdir)} && {shlex.quote(python)} " + " ".join(map(shlex.quote, args))
            log(f"{host}: {cmd}")
            interrupted = False
            try:
                code, output = remote.stream(cmd, log)
            except KeyboardInterrupt:
                interrupted, code, output = True, 130, ""
            local_json = Path(tmp) / "bench.json"
            try:
                remote.get(f"{workdir}/results/bench.json", local_json)
            except RemoteError:
                if interrupted:
                    raise KeyboardInterrupt from None
                errs = [ln for ln in output.splitlines() if "error" in ln.lower()]
                raise RemoteError(f"{host}: the bench failed on the board (exit code {code}): "
                                  f"{_tail(chr(10).join(errs) or output)}") from None
            result = json.loads(local_json.read_text())
        finally:
            removed = False
            if not keep:
                try:
                    removed = remote.run(f"rm -rf {shlex.quote(workdir)}", timeout=60).returncode == 0
                except RemoteError:
                    log(f"{host}: could not remove {workdir}")
    result["records"] += local_rows
    meta = result["metadata"]
    meta["remote"] = {"host": host, "workdir": workdir, "removed": removed, "local_command": command,
                      "local_code_version": code_version(), **info}
    if data_info:
        meta["data"] = data_info
    if interrupted:
        meta["interrupted"] = True
    return result
