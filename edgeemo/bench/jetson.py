"""Jetson board figures: tegrastats (RAM incl. the GPU's share of unified memory, rail power),
nvpmodel power mode and jetson_clocks state.

tegrastats prints one line per interval, e.g. (Orin Nano, JetPack 6)::

    RAM 2448/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [2%@729,...] ... VDD_IN 4952mW/4952mW
    VDD_CPU_GPU_CV 476mW/476mW VDD_SOC 1427mW/1427mW

Older boards print rails without units (``POM_5V_IN 2345/2345``). The board's input power is
``VDD_IN`` (Orin NX/Nano) or ``POM_5V_IN`` (Nano/TX2/Xavier NX); where neither exists (AGX Orin)
it is the sum of the rails printed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field

_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_SWAP = re.compile(r"\bSWAP (\d+)/(\d+)MB")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?\b")
_INPUT_RAILS = ("VDD_IN", "POM_5V_IN")
_NOT_RAILS = {"RAM", "SWAP", "IRAM", "EMC_FREQ", "GR3D_FREQ"}


def parse_tegrastats(line: str) -> dict | None:
    """One tegrastats line -> ``{ram_used_mb, ram_total_mb, swap_used_mb, rails_mw, power_mw}``;
    None for a line without a RAM figure."""
    m = _RAM.search(line)
    if not m:
        return None
    rails = {name: int(cur) for name, cur, _avg in _RAIL.findall(line) if name not in _NOT_RAILS}
    power = next((rails[r] for r in _INPUT_RAILS if r in rails), None)
    if power is None and rails:
        power = sum(rails.values())
    sw = _SWAP.search(line)
    return {
        "ram_used_mb": int(m.group(1)),
        "ram_total_mb": int(m.group(2)),
        "swap_used_mb": int(sw.group(1)) if sw else None,
        "rails_mw": rails,
        "power_mw": power,
    }


def parse_nvpmodel(text: str) -> dict:
    """``nvpmodel -q`` output ('NV Power Mode: MAXN' then the mode id) -> ``{mode, id}``."""
    mode = re.search(r"NV Power Mode:\s*(.+)", text)
    ids = [ln.strip() for ln in text.splitlines() if ln.strip().isdigit()]
    return {"mode": mode.group(1).strip() if mode else None, "id": int(ids[0]) if ids else None}


def parse_jetson_clocks(text: str) -> dict:
    """``jetson_clocks --show`` -> SoC family, online CPUs' current frequencies, GPU and EMC
    frequencies, and whether the clocks are pinned at their maximum."""
    out: dict = {"soc": None, "cpu_mhz": [], "gpu_mhz": None, "emc_mhz": None, "pinned": None}
    if m := re.search(r"SOC family:(\S+)", text):
        out["soc"] = m.group(1)
    pinned = []
    for m in re.finditer(r"cpu\d+: Online=1 Governor=\S+ MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", text):
        lo, hi, cur = map(int, m.groups())
        out["cpu_mhz"].append(cur // 1000)
        pinned.append(lo == hi)
    if m := re.search(r"GPU MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", text):
        lo, hi, cur = map(int, m.groups())
        out["gpu_mhz"] = cur // 1_000_000
        pinned.append(lo == hi)
    if m := re.search(r"EMC MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", text):
        lo, hi, cur = map(int, m.groups())
        out["emc_mhz"] = cur // 1_000_000
        pinned.append(lo == hi)
    out["pinned"] = all(pinned) if pinned else None
    return out


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    return (res.stdout + res.stderr) if res.returncode == 0 else None


def board_state() -> dict:
    """nvpmodel mode and jetson_clocks state for the run's metadata (None where unavailable;
    ``jetson_clocks --show`` needs root)."""
    nv = _run(["nvpmodel", "-q"])
    clocks = _run(["jetson_clocks", "--show"])
    return {"nvpmodel": parse_nvpmodel(nv) if nv else None,
            "jetson_clocks": parse_jetson_clocks(clocks) if clocks else None}


@dataclass
class TegrastatsSampler:
    """Runs ``tegrastats --interval N`` in the background and keeps timestamped samples."""

    interval_ms: int = 100
    command: str = "tegrastats"
    samples: list[tuple[float, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def available(command: str = "tegrastats") -> bool:
        return shutil.which(command) is not None

    def start(self, wait_s: float = 3.0) -> TegrastatsSampler:
        self._proc = subprocess.Popen([self.command, "--interval", str(self.interval_ms)], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.perf_counter() + wait_s
        while not self.samples and time.perf_counter() < deadline:
            time.sleep(0.02)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            rec = parse_tegrastats(line)
            if rec is not None:
                self.samples.append((time.perf_counter(), rec))

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def window(self, t0: float, t1: float) -> list[dict]:
        return [s for t, s in self.samples if t0 <= t <= t1]

    def summarize(self, baseline_until: float, t0: float, t1: float, inferences: int) -> dict:
        """Board RAM and power over ``[t0, t1]`` (the timed loop), RAM relative to the samples taken
        before ``baseline_until`` (before the model was loaded)."""
        base = [s["ram_used_mb"] for t, s in self.samples if t <= baseline_until]
        loop = self.window(t0, t1)
        if not loop:  # a loop shorter than one interval: take the nearest sample after it
            loop = [s for t, s in self.samples if t >= t0][:1]
        if not loop:
            return {"board_samples": 0}
        ram = [s["ram_used_mb"] for s in loop]
        power = [s["power_mw"] for s in loop if s["power_mw"] is not None]
        out = {
            "board_samples": len(loop),
            "board_ram_used_mb": max(ram),
            "board_ram_total_mb": loop[0]["ram_total_mb"],
            "board_ram_baseline_mb": min(base) if base else None,
            "board_ram_delta_mb": max(ram) - min(base) if base else None,
        }
        if power:
            mean_mw = sum(power) / len(power)
            out["power_mw"] = round(mean_mw, 1)
            out["energy_mj_per_inference"] = mean_mw * (t1 - t0) / max(inferences, 1)  # mW·s = mJ
            rails: dict[str, list[int]] = {}
            for s in loop:
                for k, v in s["rails_mw"].items():
                    rails.setdefault(k, []).append(v)
            out["rails_mw"] = {k: round(sum(v) / len(v), 1) for k, v in rails.items()}
        return out
