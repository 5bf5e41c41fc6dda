"""Device detection on copies of real boards' /etc and /proc files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeemo import hardware
from edgeemo.export.tensorrt_export import engine_cache_key, engine_path


def _board(tmp_path: Path, model: str | None, tegra: str | None) -> Path:
    if model is not None:
        (tmp_path / "proc/device-tree").mkdir(parents=True)
        (tmp_path / "proc/device-tree/model").write_bytes(model.encode() + b"\x00")
    if tegra is not None:
        (tmp_path / "etc").mkdir(parents=True, exist_ok=True)
        (tmp_path / "etc/nv_tegra_release").write_text(tegra)
    return tmp_path


def test_jetson_orin(tmp_path):
    root = _board(tmp_path, "NVIDIA Jetson AGX Orin Developer Kit",
                  "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: ...\n")
    assert hardware.is_jetson(root)
    assert not hardware.is_raspberry_pi(root)
    assert hardware.l4t_release(root) == {"release": "36.3.0", "major": 36}
    gpu = hardware.gpu_identity(root)
    assert gpu == {"name": "NVIDIA Jetson AGX Orin Developer Kit", "compute_capability": "8.7", "l4t": "36.3.0"}


def test_raspberry_pi(tmp_path):
    root = _board(tmp_path, "Raspberry Pi 5 Model B Rev 1.0", None)
    assert hardware.is_raspberry_pi(root)
    assert not hardware.is_jetson(root)
    assert hardware.l4t_release(root) is None


def test_plain_host(tmp_path):
    assert not hardware.is_jetson(tmp_path)
    assert hardware.device_tree_model(tmp_path) is None


def test_cpu_info_reads_this_machine():
    info = hardware.cpu_info()
    assert info["logical_cores"] >= 1
    assert info["model"]


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n")
    return tmp_path


@pytest.mark.parametrize("flags, native", [
    ("fpu sse4_2 avx avx2 fma", False),  # AVX2 only: bfloat16 would be emulated
    ("avx2 avx512f avx512bw avx512_vnni", False),  # AVX-512 with VNNI but no BF16
    ("avx2 avx512f avx512_vnni avx512_bf16", True),  # Zen 4 / Cooper Lake
    ("avx2 avx512f amx_tile amx_int8 amx_bf16", True),  # Sapphire Rapids
])
def test_native_bf16_follows_the_cpu_flags(tmp_path, flags, native):
    assert hardware.native_bf16_cpu(_cpuinfo(tmp_path, flags)) is native


def test_load_average_reads_this_machine():
    load = hardware.load_average()
    assert load is not None and len(load) == 3
    assert all(v >= 0 for v in load)


def test_engine_cache_key_changes_with_everything_that_matters():
    gpu = {"name": "NVIDIA Jetson Orin Nano", "compute_capability": "8.7", "l4t": "36.3.0"}
    base = engine_cache_key("abc", "fp16", "10.3.0", gpu, 64)
    assert base == engine_cache_key("abc", "fp16", "10.3.0", dict(gpu), 64)  # stable
    variants = [
        engine_cache_key("abd", "fp16", "10.3.0", gpu, 64),
        engine_cache_key("abc", "int8", "10.3.0", gpu, 64),
        engine_cache_key("abc", "fp16", "10.4.0", gpu, 64),
        engine_cache_key("abc", "fp16", "10.3.0", {**gpu, "l4t": "36.4.0"}, 64),
        engine_cache_key("abc", "fp16", "10.3.0", {**gpu, "name": "NVIDIA H100"}, 64),
        engine_cache_key("abc", "fp16", "10.3.0", {**gpu, "compute_capability": "9.0"}, 64),
        engine_cache_key("abc", "fp16", "10.3.0", gpu, 32),
    ]
    assert len(set(variants + [base])) == len(variants) + 1
    assert engine_path("/c", "edgenet", "fp16", base).name == f"edgenet.fp16.{base}.engine"
