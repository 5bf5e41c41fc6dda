"""Device profiles: one TOML (or YAML) file per target saying what to run and how to recognise it.

The shipped profiles are package data (``edgeemo/bench/devices/*.toml``, their only copy). Profiles
are looked up by name in, in order: the folders in ``$EDGEEMO_DEVICES`` (``os.pathsep``
separated), ``./devices`` in the working directory, and the package. The first file named
``NAME.toml`` (or ``.yaml``/``.yml``) wins, so adding a device is adding a file. A path to a
profile file works wherever a name does.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from ..errors import EdgeemoError
from ..formats import EXPORT_RUNTIMES, PRECISIONS, RUNTIMES
from ..hardware import cpu_info, device_tree_model
from .vlm_options import ALL_OPTIONS

ENV_DIRS = "EDGEEMO_DEVICES"
PACKAGE_DIR = Path(__file__).resolve().parent / "devices"
SUFFIXES = (".toml", ".yaml", ".yml")
BACKENDS = EXPORT_RUNTIMES
BOARD_SOURCES = (None, "rss", "tegrastats")


class ProfileError(EdgeemoError):
    """A device profile is missing, malformed, or does not fit this machine."""


@dataclass
class Target:
    """One runtime on one device of the profile, at some precisions."""

    backend: str
    precisions: list[str]
    device: str = "cpu"  # onnxruntime: cpu | gpu; openvino: CPU | GPU | NPU ...; tensorrt: gpu


@dataclass
class Detect:
    """How to recognise the device: ``arch`` must match when given; then any of the others."""

    arch: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    device_tree_contains: list[str] = field(default_factory=list)
    cpu_model_contains: list[str] = field(default_factory=list)

    def reasons(self, root: str | Path = "/", arch: str | None = None) -> tuple[bool, str]:
        """Whether the machine under ``root`` (with CPU architecture ``arch``, default this one's)
        matches, and a line saying why (not)."""
        root = Path(root)
        arch = (arch or platform.machine()).lower()
        checks, hit = [], None
        for f in self.files:
            if (root / f.lstrip("/")).exists():
                hit = hit or f"{f} exists"
            else:
                checks.append(f"no {f}")
        if self.device_tree_contains:
            model = device_tree_model(root) or ""
            if any(s.lower() in model.lower() for s in self.device_tree_contains):
                hit = hit or f"device-tree model is {model!r}"
            checks.append(f"device-tree model is {model!r}" if model else "no device-tree model")
        if self.cpu_model_contains:
            cpu = cpu_info(root)["model"] or ""
            if any(s.lower() in cpu.lower() for s in self.cpu_model_contains):
                hit = hit or f"CPU is {cpu!r}"
            checks.append(f"CPU is {cpu!r}")
        if self.arch and arch not in [a.lower() for a in self.arch]:
            return False, "; ".join([f"architecture is {arch}, not {'/'.join(self.arch)}", *checks])
        if hit:
            return True, hit
        if not (self.files or self.device_tree_contains or self.cpu_model_contains):
            return True, f"architecture {arch}"
        return False, "; ".join(checks)


@dataclass
class Profile:
    name: str
    path: str
    description: str = ""
    priority: int = 0
    threads: int = 1
    batch: int = 1
    throughput_batch: int = 32
    warmup: int = 20
    min_runs: int = 300
    min_seconds: float = 3.0
    max_seconds: float = 60.0
    throughput_min_seconds: float = 1.0
    timeout_s: float = 900.0
    memory: str | None = "rss"
    power: str | None = None
    detect: Detect = field(default_factory=Detect)
    targets: list[Target] = field(default_factory=list)
    vlm: dict[str, Any] = field(default_factory=dict)  # options for --vlm rows (n_gpu_layers, threads, ...)

    def rows(self) -> list[tuple[Target, str]]:
        """Every (target, precision) pair, in file order."""
        return [(t, p) for t in self.targets for p in t.precisions]

    def matches(self, root: str | Path = "/", arch: str | None = None) -> tuple[bool, str]:
        return self.detect.reasons(root, arch)

    def to_dict(self) -> dict:
        return asdict(self)


_TOP_KEYS = {f for f in Profile.__dataclass_fields__ if f not in ("path",)}
_INT_KEYS = ("priority", "threads", "batch", "throughput_batch", "warmup", "min_runs")
_FLOAT_KEYS = ("min_seconds", "max_seconds", "throughput_min_seconds", "timeout_s")


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where}: expected a list of strings, got {value!r}")
    return list(value)


def parse_profile(d: dict, where: str) -> Profile:
    """Validate a profile's parsed content; every problem names the file and the key."""
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: a profile is a table of keys, got {type(d).__name__}")
    unknown = set(d) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                           f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    kw: dict[str, Any] = {"name": str(d.get("name") or Path(where).stem), "path": where,
                          "description": str(d.get("description", ""))}
    for k in _INT_KEYS:
        if k in d:
            v = d[k]
            if not isinstance(v, int) or isinstance(v, bool) or (v < 1 and k != "priority"):
                raise ProfileError(f"{where}: {k} must be a positive integer, got {v!r}")
            kw[k] = v
    for k in _FLOAT_KEYS:
        if k in d:
            v = d[k]
            if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
                raise ProfileError(f"{where}: {k} must be a positive number, got {v!r}")
            kw[k] = float(v)
    for k in ("memory", "power"):
        if k in d:
            if d[k] not in BOARD_SOURCES:
                raise ProfileError(f"{where}: {k} must be one of rss, tegrastats, got {d[k]!r}")
            kw[k] = d[k]
    det = d.get("detect", {})
    if not isinstance(det, dict):
        raise ProfileError(f"{where}: [detect] must be a table")
    bad = set(det) - set(Detect.__dataclass_fields__)
    if bad:
        raise ProfileError(f"{where}: unknown [detect] key(s) {', '.join(sorted(bad))}; "
                           f"allowed: {', '.join(Detect.__dataclass_fields__)}")
    kw["detect"] = Detect(**{k: _str_list(v, f"{where}: detect.{k}") for k, v in det.items()})
    kw["vlm"] = _vlm_table(d.get("vlm", {}), where)
    targets = d.get("targets")
    if not targets or not isinstance(targets, list):
        raise ProfileError(f"{where}: no [[targets]]; add at least one, e.g. backend = \"onnxruntime\", "
                           "precisions = [\"fp32\"]")
    kw["targets"] = [_target(t, f"{where}: targets[{i}]") for i, t in enumerate(targets)]
    return Profile(**kw)


def _vlm_table(vlm, where: str) -> dict:
    if not isinstance(vlm, dict):
        raise ProfileError(f"{where}: [vlm] must be a table of vision-LLM options, e.g. n_gpu_layers = -1")
    bad = set(vlm) - set(ALL_OPTIONS)
    if bad:
        raise ProfileError(f"{where}: unknown [vlm] key(s) {', '.join(sorted(bad))}; allowed: {', '.join(ALL_OPTIONS)}")
    return dict(vlm)


def _target(t, tw: str) -> Target:
    if not isinstance(t, dict):
        raise ProfileError(f"{tw} must be a table")
    bad = set(t) - {"backend", "precisions", "device"}
    if bad:
        raise ProfileError(f"{tw}: unknown key(s) {', '.join(sorted(bad))}; allowed: backend, precisions, device")
    if t.get("backend") not in BACKENDS:
        raise ProfileError(f"{tw}: backend must be one of {', '.join(BACKENDS)}, got {t.get('backend')!r}")
    precs = _str_list(t.get("precisions", ["fp32"]), f"{tw}.precisions")
    for p in precs:
        if p not in PRECISIONS:
            raise ProfileError(f"{tw}: unknown precision {p!r}; choose from {', '.join(PRECISIONS)}")
    return Target(t["backend"], precs, str(t.get("device", RUNTIMES[t["backend"]].default_device)))


def read_profile_file(path: str | Path) -> Profile:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror})") from exc
    if path.suffix in (".yaml", ".yml"):
        from ..errors import require

        yaml = require("yaml", "", f"The YAML profile {path.name}")
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProfileError(f"{path}: not valid YAML ({exc})") from exc
    else:
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{path}: not valid TOML ({exc})") from exc
    return parse_profile(d, str(path))


def profile_dirs() -> list[Path]:
    """Folders searched for profiles, first match wins."""
    dirs = [Path(p) for p in os.environ.get(ENV_DIRS, "").split(os.pathsep) if p]
    dirs += [Path.cwd() / "devices", PACKAGE_DIR]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def list_profiles() -> dict[str, Path]:
    """Profile name -> file, over :func:`profile_dirs`."""
    found: dict[str, Path] = {}
    for d in profile_dirs():
        for p in sorted(d.iterdir()):
            if p.suffix in SUFFIXES and p.stem not in found:
                found[p.stem] = p
    return found


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (``jetson``) or by file path."""
    s = str(name_or_path)
    if Path(s).suffix in SUFFIXES or os.sep in s:
        if not Path(s).exists():
            raise ProfileError(f"{s}: no such profile file")
        return read_profile_file(s)
    profiles = list_profiles()
    if s not in profiles:
        where = ", ".join(str(d) for d in profile_dirs()) or "(no profile folders found)"
        raise ProfileError(
            f"unknown device {s!r}; known: {', '.join(sorted(profiles)) or 'none'} (from {where}). "
            f"Add one by writing devices/{s}.toml (copy {profiles.get('cpu', PACKAGE_DIR / 'cpu.toml')}), "
            "or pass a profile file path"
        )
    return read_profile_file(profiles[s])


def all_profiles() -> list[Profile]:
    return [read_profile_file(p) for p in list_profiles().values()]


def detect_device(root: str | Path = "/", profiles: list[Profile] | None = None, arch: str | None = None) -> Profile:
    """The most specific profile (highest ``priority``) whose detection matches this machine."""
    profiles = all_profiles() if profiles is None else profiles
    matched = [p for p in profiles if p.matches(root, arch)[0]]
    if not matched:
        raise ProfileError(
            f"no device profile matches this machine ({platform.machine()}, {cpu_info(root)['model']}); "
            f"choose one with --device ({', '.join(p.name for p in profiles)}) or add devices/NAME.toml"
        )
    return max(matched, key=lambda p: p.priority)


def check_profile_fits(profile: Profile, root: str | Path = "/", arch: str | None = None) -> None:
    """Refuse a profile made for other hardware, saying what to do instead."""
    ok, why = profile.matches(root, arch)
    if ok:
        return
    if profile.name == "jetson":
        raise ProfileError(
            f"this machine is not a Jetson ({why}). Run the bench on the board itself, or from here with "
            "--host user@board to run it there over SSH; for this machine use --device cpu "
            "(or --device auto). --force runs the profile anyway"
        )
    raise ProfileError(
        f"this machine does not look like a '{profile.name}' device ({why}). Use --host user@board to run it "
        "on such a device over SSH, --device auto to pick the profile for this machine, or --force to run anyway"
    )
