"""``edgeemo bench --host``: the bench run on a board over SSH, here against a real OpenSSH server
started on 127.0.0.1 with its own host key and a single authorised user key."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgeemo.bench.remote import RemoteError, parse_host
from edgeemo.cli import main

SSHD = "/usr/sbin/sshd"
FAST = ["--warmup", "2", "--min-runs", "10", "--min-seconds", "0.05", "--throughput-batch", "8",
        "--throughput-seconds", "0.05", "--budget", "1.0"]
PROFILE = """
name = "board"
threads = 1
[[targets]]
backend = "onnxruntime"
precisions = ["fp32", "int8"]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1 that lets in exactly one key, for this user."""
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None or shutil.which("ssh") is None:
        pytest.skip("OpenSSH server/client not installed (apt-get install -y openssh-server openssh-client)")
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = _free_port()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
    user = getpass.getuser()
    (d / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nAllowUsers {user}\nAuthenticationMethods publickey\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPrintMotd no\n"
        "Subsystem sftp internal-sftp\nLogLevel ERROR\n")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    check = subprocess.run([SSHD, "-t", "-f", str(d / "sshd_config")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config"), "-p", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    opts = [f"IdentityFile={d / 'user_key'}", "IdentitiesOnly=yes", f"UserKnownHostsFile={d / 'known_hosts'}",
            "StrictHostKeyChecking=yes", "LogLevel=ERROR"]
    yield {"host": f"{user}@127.0.0.1:{port}", "port": port, "opts": opts, "dir": d}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def small_fer(fer_npz, tmp_path_factory) -> Path:
    from edgeemo.bench.faces import write_subset

    path = tmp_path_factory.mktemp("faces") / "fer_small.npz"
    write_subset(fer_npz, "PrivateTest", 60, path, n_calib=256, n_val=150)
    return path


@pytest.fixture(scope="module")
def board_python(tmp_path_factory) -> str:
    """The board's Python: this interpreter, running the edgeemo under test (not an installed copy)."""
    import edgeemo

    wrapper = tmp_path_factory.mktemp("board") / "python3"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={Path(edgeemo.__file__).resolve().parent.parent} "
                       f"exec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def _ssh_args(sshd) -> list[str]:
    return [a for o in sshd["opts"] for a in ("--ssh-option", o)]


def test_parse_host():
    assert parse_host("nvidia@orin") == ("nvidia@orin", None)
    assert parse_host("nvidia@orin:2222") == ("nvidia@orin", 2222)
    assert parse_host("ssh://pi@10.0.0.7:22") == ("pi@10.0.0.7", 22)
    with pytest.raises(RemoteError):
        parse_host("-oProxyCommand=x")


@pytest.fixture(scope="module")
def remote_model():
    from edgeemo.model_files import DEFAULT_MODEL

    if DEFAULT_MODEL.exists():
        return DEFAULT_MODEL
    alt = os.environ.get("EDGEEMO_TEST_MODEL")
    if alt and Path(alt).exists():
        return Path(alt)
    pytest.skip(f"{DEFAULT_MODEL} is missing (or set EDGEEMO_TEST_MODEL to an FP32 edgeemo .onnx)")


def test_bench_runs_on_the_board_and_the_json_comes_back(sshd, remote_model, small_fer, board_python, tmp_path):
    profile = tmp_path / "board.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "fleet" / "board"
    res = CliRunner().invoke(main, [
        "bench", "--device", str(profile), "--host", sshd["host"], *_ssh_args(sshd),
        "--remote-python", board_python, "--model", f"{remote_model},vgg16-missing.onnx",
        "--data", str(small_fer), "--limit", "60", "--export-dir", str(tmp_path / "export"), "--out", str(out), *FAST,
    ])
    assert res.exit_code == 0, res.output
    data = json.loads(out.with_suffix(".json").read_text())
    meta = data["metadata"]
    assert meta["remote"]["host"] == sshd["host"] and meta["remote"]["edgeemo"]
    assert meta["data"]["n"] == 60 and meta["device_profile"]["name"] == "board"
    ok = [r for r in data["records"] if r["status"] == "ok"]
    assert {r["precision"] for r in ok} == {"fp32", "int8"}
    for r in ok:
        assert r["n"] == 60 and r["accuracy"] is not None and r["latency_ms"]["p50"] > 0
    missing = [r for r in data["records"] if r["model"] == "vgg16-missing.onnx"]
    assert missing and missing[0]["status"] == "failed"
    # the INT8 model was built here and reused there, not quantized again on the board
    assert "reusing 2 artifact(s)" in res.output
    assert out.with_suffix(".csv").exists() and out.with_suffix(".md").exists() and out.with_suffix(".png").exists()
    # the board's working folder is removed afterwards (the "board" is this machine)
    workdir = Path(meta["remote"]["workdir"])
    assert workdir.name.startswith("edgeemo-bench.") and meta["remote"]["removed"] and not workdir.exists()


def test_missing_python_on_the_board_is_a_clear_error(sshd, remote_model, tmp_path):
    res = CliRunner().invoke(main, ["bench", "--device", "cpu", "--host", sshd["host"], *_ssh_args(sshd),
                                    "--remote-python", "/nonexistent/python3", "--model", str(remote_model),
                                    "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "there is no '/nonexistent/python3' on the board" in res.output and "--remote-python" in res.output


def test_board_without_edgeemo_is_a_clear_error(sshd, remote_model, tmp_path):
    plain = shutil.which("python3", path="/usr/bin:/bin")
    if plain is None or subprocess.run([plain, "-c", "import edgeemo"], capture_output=True).returncode == 0:
        pytest.skip("no system python3 without edgeemo here")
    res = CliRunner().invoke(main, ["bench", "--device", "cpu", "--host", sshd["host"], *_ssh_args(sshd),
                                    "--remote-python", plain, "--model", str(remote_model),
                                    "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "edgeemo is not installed" in res.output and "pip install" in res.output


def test_unreachable_board_says_how_to_fix_ssh(sshd, remote_model, tmp_path):
    port = _free_port()
    res = CliRunner().invoke(main, ["bench", "--device", "cpu", "--host", f"nobody@127.0.0.1:{port}",
                                    *_ssh_args(sshd), "--model", str(remote_model), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "ssh could not connect or log in" in res.output and "BatchMode" in res.output


def test_a_fleet_goes_on_past_a_board_that_is_down(sshd, remote_model, small_fer, board_python, tmp_path):
    profile = tmp_path / "board.toml"
    profile.write_text(PROFILE)
    down = f"nobody@127.0.0.1:{_free_port()}"
    out = tmp_path / "fleet"
    res = CliRunner().invoke(main, [
        "bench", "--device", str(profile), "--host", down, "--host", sshd["host"], *_ssh_args(sshd),
        "--remote-python", board_python, "--model", str(remote_model), "--precision", "fp32",
        "--data", str(small_fer), "--export-dir", str(tmp_path / "export"), "--out", str(out), "--no-plot", *FAST,
    ])
    assert res.exit_code == 2, res.output
    assert f"1 of 2 boards failed: {down}" in res.output
    good = tmp_path / f"fleet.127.0.0.1_{sshd['port']}.json"
    recs = json.loads(good.read_text())["records"]
    assert [(r["backend"], r["precision"], r["status"]) for r in recs] == [("onnxruntime", "fp32", "ok")]


def test_host_needs_an_explicit_profile(tmp_path):
    res = CliRunner().invoke(main, ["bench", "--host", "pi@board", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--host needs the board's profile" in res.output
