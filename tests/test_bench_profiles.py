"""Device profiles: the shipped files, validation, lookup and detection on fake board file trees."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgeemo.bench import profiles as P
from edgeemo.cli import main


def fake_root(tmp_path: Path, *, model: str | None = None, tegra: str | None = None, cpu: str = "AMD EPYC") -> Path:
    """A copy of the few files detection reads, as a board would have them."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/cpuinfo").write_text(f"processor\t: 0\nmodel name\t: {cpu}\nflags\t\t: fpu sse4_2 avx2\n")
    if model is not None:
        (root / "proc/device-tree").mkdir()
        (root / "proc/device-tree/model").write_bytes(model.encode() + b"\x00")
    if tegra is not None:
        (root / "etc").mkdir()
        (root / "etc/nv_tegra_release").write_text(tegra)
    return root


def test_shipped_profiles_load_from_the_package():
    names = {p.stem for p in P.PACKAGE_DIR.glob("*.toml")}
    assert {"cpu", "jetson", "rpi", "intel"} <= names
    for name in names:
        prof = P.load_profile(name)
        assert prof.name == name and prof.targets and Path(prof.path).parent == P.PACKAGE_DIR
    jetson = P.load_profile("jetson")
    assert [(t.backend, t.device, t.precisions) for t in jetson.targets] == [
        ("tensorrt", "gpu", ["fp16", "int8"]), ("onnxruntime", "gpu", ["fp32", "fp16"])]
    assert jetson.memory == jetson.power == "tegrastats"
    assert P.load_profile("rpi").threads == 4


@pytest.mark.parametrize("text, message", [
    ('name = "x"\n', "no [[targets]]"),
    ('colour = "red"\n[[targets]]\nbackend = "onnxruntime"\n', "unknown key(s) colour"),
    ('[[targets]]\nbackend = "tflite"\n', "backend must be one of"),
    ('[[targets]]\nbackend = "openvino"\nprecisions = ["fp8"]\n', "unknown precision 'fp8'"),
    ('threads = 0\n[[targets]]\nbackend = "onnxruntime"\n', "threads must be a positive integer"),
    ('min_seconds = "long"\n[[targets]]\nbackend = "onnxruntime"\n', "min_seconds must be a positive number"),
    ('[detect]\nmodel = "x"\n[[targets]]\nbackend = "onnxruntime"\n', "unknown [detect] key(s) model"),
    ('[[targets]\n', "not valid TOML"),
])
def test_invalid_profiles_are_refused_with_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "board.toml"
    path.write_text(text)
    with pytest.raises(P.ProfileError) as exc:
        P.read_profile_file(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_adding_a_device_is_adding_a_file(tmp_path, monkeypatch):
    (tmp_path / "npu-box.toml").write_text(
        'description = "a board with an NPU"\nthreads = 2\n[detect]\ncpu_model_contains = ["Rockchip"]\n'
        '[[targets]]\nbackend = "onnxruntime"\nprecisions = ["fp32", "int8"]\n')
    monkeypatch.setenv(P.ENV_DIRS, str(tmp_path))
    assert "npu-box" in P.list_profiles()
    prof = P.load_profile("npu-box")
    assert prof.threads == 2 and prof.rows()[1][1] == "int8" and prof.targets[0].device == "cpu"
    root = fake_root(tmp_path, cpu="Rockchip RK3588")
    assert P.detect_device(root, arch="aarch64").name == "npu-box"
    # a file in the first folder shadows the shipped one of the same name
    (tmp_path / "cpu.toml").write_text('[[targets]]\nbackend = "openvino"\n')
    assert [t.backend for t in P.load_profile("cpu").targets] == ["openvino"]


def test_unknown_device_lists_the_known_ones():
    with pytest.raises(P.ProfileError) as exc:
        P.load_profile("toaster")
    msg = str(exc.value)
    assert "unknown device 'toaster'" in msg and "cpu, intel, jetson, rpi" in msg and "devices/toaster.toml" in msg
    shipped = P.PACKAGE_DIR / "cpu.toml"  # the profile to start from: named where it really is
    assert f"(copy {shipped})" in msg and shipped.is_file()


def test_detection_on_board_file_trees(tmp_path):
    orin = fake_root(tmp_path / "a", model="NVIDIA Jetson Orin Nano Developer Kit",
                     tegra="# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64\n",
                     cpu="ARMv8 Processor rev 1 (v8l)")
    assert P.detect_device(orin, arch="aarch64").name == "jetson"
    # either sign is enough: the release file alone (device tree unreadable in a container)
    only_release = fake_root(tmp_path / "b", tegra="# R35 (release), REVISION: 4.1\n")
    assert P.load_profile("jetson").matches(only_release, arch="aarch64")[0]
    pi5 = fake_root(tmp_path / "c", model="Raspberry Pi 5 Model B Rev 1.0", cpu="Cortex-A76")
    assert P.detect_device(pi5, arch="aarch64").name == "rpi"
    intel = fake_root(tmp_path / "d", cpu="Intel(R) Core(TM) i7-1185G7 @ 3.00GHz")
    assert P.detect_device(intel, arch="x86_64").name == "intel"
    amd = fake_root(tmp_path / "e", cpu="AMD EPYC 7B13")
    assert P.detect_device(amd, arch="x86_64").name == "cpu"
    # a Pi is not a Jetson, and says why
    ok, why = P.load_profile("jetson").matches(pi5, arch="aarch64")
    assert not ok and "no /etc/nv_tegra_release" in why and "Raspberry Pi 5" in why


def test_jetson_profile_on_a_workstation_says_what_to_do(tmp_path):
    root = fake_root(tmp_path, cpu="AMD EPYC")
    with pytest.raises(P.ProfileError) as exc:
        P.check_profile_fits(P.load_profile("jetson"), root, arch="x86_64")
    msg = str(exc.value)
    assert "not a Jetson" in msg and "--host user@board" in msg and "--device cpu" in msg


@pytest.mark.skipif(P.load_profile("jetson").matches()[0], reason="this machine is a Jetson")
def test_bench_device_jetson_here_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(main, ["bench", "--device", "jetson", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "not a Jetson" in res.output and "--host" in res.output
    assert not (tmp_path / "x.json").exists()


def test_list_devices_and_min_accuracy_needs_data():
    runner = CliRunner()
    res = runner.invoke(main, ["bench", "--list-devices"])
    assert res.exit_code == 0 and "jetson" in res.output and "rpi" in res.output
    res = runner.invoke(main, ["bench", "--device", "cpu", "--min-accuracy", "0.5"])
    assert res.exit_code == 2 and "--min-accuracy needs labelled faces" in res.output
