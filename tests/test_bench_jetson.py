"""Jetson board figures: tegrastats, nvpmodel and jetson_clocks output as the boards print it."""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

import pytest

from edgeemo.bench.jetson import TegrastatsSampler, parse_jetson_clocks, parse_nvpmodel, parse_tegrastats

ORIN_NANO = (
    "11-23-2026 14:50:01 RAM 2448/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) "
    "CPU [2%@729,1%@729,0%@729,0%@729,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305] NVENC off NVDEC off "
    "NVJPG off NVJPG1 off VIC off OFA off APE 200 cpu@47.5C soc2@46.281C soc0@46.968C gpu@47.281C tj@47.5C "
    "soc1@46.312C VDD_IN 4952mW/4952mW VDD_CPU_GPU_CV 476mW/476mW VDD_SOC 1427mW/1427mW"
)
AGX_ORIN = (
    "RAM 5124/30536MB (lfb 6096x4MB) SWAP 0/15268MB (cached 0MB) CPU [3%@2201,0%@2201,1%@2201,0%@2201,"
    "0%@2201,0%@2201,0%@2201,0%@2201] EMC_FREQ 0%@3199 GR3D_FREQ 61%@[1300,1300] VIC_FREQ 729 APE 174 "
    "CV0@-256C CPU@48.562C Tboard@37C SOC2@45.5C Tdiode@39.25C SOC0@45.562C CV1@-256C GPU@-256C tj@48.562C "
    "SOC1@46.031C CV2@-256C VDD_GPU_SOC 2398mW/2398mW VDD_CPU_CV 799mW/799mW VIN_SYS_5V0 3325mW/3325mW "
    "VDDQ_VDD2_1V8AO 403mW/403mW"
)
NANO_JP4 = (
    "RAM 1784/3956MB (lfb 163x4MB) SWAP 0/1978MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
    "CPU [8%@1479,3%@1479,4%@1479,2%@1479] EMC_FREQ 3%@1600 GR3D_FREQ 0%@921 APE 25 PLL@35C CPU@37.5C "
    "PMIC@100C GPU@36C AO@43C thermal@36.75C POM_5V_IN 2385/2385 POM_5V_GPU 40/40 POM_5V_CPU 397/397"
)


def test_tegrastats_orin_nano_input_rail():
    s = parse_tegrastats(ORIN_NANO)
    assert (s["ram_used_mb"], s["ram_total_mb"], s["swap_used_mb"]) == (2448, 7620, 0)
    assert s["rails_mw"] == {"VDD_IN": 4952, "VDD_CPU_GPU_CV": 476, "VDD_SOC": 1427}
    assert s["power_mw"] == 4952


def test_tegrastats_agx_orin_sums_the_rails():
    s = parse_tegrastats(AGX_ORIN)
    assert s["ram_used_mb"] == 5124
    assert s["power_mw"] == 2398 + 799 + 3325 + 403
    assert "GR3D_FREQ" not in s["rails_mw"] and "EMC_FREQ" not in s["rails_mw"]


def test_tegrastats_old_unitless_rails():
    s = parse_tegrastats(NANO_JP4)
    assert s["ram_used_mb"] == 1784 and s["power_mw"] == 2385
    assert s["rails_mw"] == {"POM_5V_IN": 2385, "POM_5V_GPU": 40, "POM_5V_CPU": 397}
    assert parse_tegrastats("tegrastats: unrecognised option") is None


def test_nvpmodel_and_jetson_clocks():
    assert parse_nvpmodel("NV Fan Mode:quiet\nNV Power Mode: 15W\n0\n") == {"mode": "15W", "id": 0}
    assert parse_nvpmodel("NV Power Mode: MAXN\n0\n")["mode"] == "MAXN"
    shown = (
        "SOC family:tegra234  Machine:NVIDIA Jetson AGX Orin Developer Kit\nOnline CPUs: 0-11\n"
        "cpu0: Online=1 Governor=schedutil MinFreq=2201600 MaxFreq=2201600 CurrentFreq=2201600 IdleStates: WFI=0 c7=0\n"
        "cpu1: Online=1 Governor=schedutil MinFreq=2201600 MaxFreq=2201600 CurrentFreq=2201600 IdleStates: WFI=0 c7=0\n"
        "GPU MinFreq=1300500000 MaxFreq=1300500000 CurrentFreq=1300500000\n"
        "EMC MinFreq=204000000 MaxFreq=3199000000 CurrentFreq=3199000000 FreqOverride=1\n"
        "FAN Dynamic Speed control=active hwmon4_pwm=60\nNV Power Mode: MAXN\n"
    )
    c = parse_jetson_clocks(shown)
    assert c["soc"] == "tegra234" and c["cpu_mhz"] == [2201, 2201] and c["gpu_mhz"] == 1300 and c["emc_mhz"] == 3199
    assert c["pinned"] is False  # EMC is not pinned (min != max)
    assert parse_jetson_clocks(shown.replace("MinFreq=204000000", "MinFreq=3199000000"))["pinned"] is True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX script")
def test_sampler_reads_a_stream_and_summarises_the_loop(tmp_path):
    """The sampler thread on a stand-in that prints recorded Orin Nano lines (tegrastats runs only on a Jetson)."""
    script = tmp_path / "tegrastats"
    lines = [ORIN_NANO.replace("RAM 2448", f"RAM {2448 + 10 * i}").replace("VDD_IN 4952", f"VDD_IN {5000 + i}")
             for i in range(200)]
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{ln}'; sleep 0.02\n" for ln in lines))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    sampler = TegrastatsSampler(interval_ms=20, command=str(script)).start()
    t_base = time.perf_counter()
    time.sleep(0.2)
    t0 = time.perf_counter()
    time.sleep(0.5)
    t1 = time.perf_counter()
    sampler.stop()
    summary = sampler.summarize(t_base, t0, t1, inferences=100)
    assert summary["board_samples"] >= 3
    assert summary["board_ram_used_mb"] > summary["board_ram_baseline_mb"] >= 2448
    assert summary["board_ram_delta_mb"] == summary["board_ram_used_mb"] - summary["board_ram_baseline_mb"]
    assert 5000 <= summary["power_mw"] < 5200
    assert summary["energy_mj_per_inference"] == pytest.approx(summary["power_mw"] * (t1 - t0) / 100, rel=1e-3)


def test_worker_reports_board_memory_and_power_from_tegrastats(tmp_path):
    """One row measured by the worker with board figures on, tegrastats stood in by recorded lines."""
    import json
    import os
    import subprocess

    from edgeemo.bench.jobs import MARKER
    from edgeemo.model_files import DEFAULT_MODEL

    model = DEFAULT_MODEL if DEFAULT_MODEL.exists() else Path(os.environ.get("EDGEEMO_TEST_MODEL", "-"))
    if not model.exists():
        pytest.skip(f"{DEFAULT_MODEL} is missing")
    script = tmp_path / "tegrastats"
    script.write_text("#!/bin/sh\ni=0\nwhile true; do\n"
                      f"  echo '{ORIN_NANO}' | sed \"s/RAM 2448/RAM $((2448 + i))/\"\n"
                      "  i=$((i + 1)); sleep 0.05\ndone\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    job = {"path": str(model), "backend": "onnxruntime", "device": "cpu", "threads": 1, "batch": 1,
           "throughput_batch": 4, "warmup": 2, "min_runs": 20, "min_seconds": 0.3, "max_seconds": 5,
           "throughput_min_seconds": 0.05, "faces": None, "board_stats": True, "board_interval_ms": 50}
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run([sys.executable, "-m", "edgeemo.bench.worker"], input=json.dumps(job), env=env,
                         capture_output=True, text=True, timeout=120)
    rec = json.loads([ln for ln in res.stdout.splitlines() if ln.startswith(MARKER)][-1][len(MARKER):])
    assert rec["status"] == "ok", rec
    assert rec["memory_source"] == "tegrastats" and rec["board_samples"] >= 2
    assert rec["board_ram_used_mb"] > 2448 and rec["board_ram_delta_mb"] > 0
    assert rec["power_mw"] == 4952 and rec["energy_mj_per_inference"] > 0
    assert rec["peak_rss_mb"] > 0 and rec["accuracy"] is None
