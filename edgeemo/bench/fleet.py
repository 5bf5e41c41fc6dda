"""The bench over several boards (one result file per board, a board that is down does not stop the
others) and the accuracy gate a CI run checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..console_log import styled
from ..errors import EdgeemoError
from .profiles import Profile
from .remote import run_remote


def host_stem(stem: Path, host: str, n_hosts: int) -> Path:
    """One board: ``stem`` itself; a fleet: ``stem.HOST`` per board."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host.split("@")[-1])
    return stem if n_hosts == 1 else stem.with_name(f"{stem.name}.{safe}")


def run_fleet(hosts: tuple[str, ...] | list[str], profile: Profile, models: list[str], stem: Path, *,
              log: Callable[[object], object] = print, **kwargs) -> tuple[list[tuple[Path, dict]], list[str]]:
    """:func:`~edgeemo.bench.remote.run_remote` on each board; returns (output stem, result) per board
    that answered and the boards that failed. With a single board its error is raised."""
    results, failed = [], []
    for host in hosts:
        try:
            res = run_remote(host, profile, models, log=log, **kwargs)
        except EdgeemoError as exc:
            if len(hosts) == 1:
                raise
            failed.append(host)
            log(styled(f"{host}:", "bold red", f" {exc}"))
            continue
        results.append((host_stem(stem, host, len(hosts)), res))
    return results, failed


def below_accuracy(result: dict, min_accuracy: float) -> list[dict]:
    """The measured rows whose accuracy is below ``min_accuracy``."""
    return [r for r in result["records"]
            if r["status"] == "ok" and r.get("accuracy") is not None and r["accuracy"] < min_accuracy]
