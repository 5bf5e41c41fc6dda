"""A response cache in SQLite (WAL): a re-run costs nothing and an interrupted run resumes.

Each answer is stored under a key hashed from the backend, model, prompt fingerprint, image hash
and every decoding parameter, and committed as soon as it arrives, so a crash loses at most the
requests in flight. Only answers are stored (raw text, parsed label, status, latency, tokens,
cost) — never request headers, so never an API key. A second table remembers Batch API jobs, so
an interrupted batch run polls its job instead of submitting (and paying for) it again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_CACHE = Path.home() / ".cache" / "edgeemo" / "vlm-cache.sqlite"


@dataclass
class Answer:
    """One image's answer and what it cost."""

    label: int
    status: str
    raw: str | None = None
    latency_s: float | None = None
    info: dict = field(default_factory=dict)  # tokens, ttft, tokens/s, scores, cost, ...


def cache_key(**parts) -> str:
    """A stable key from JSON-able parts (sorted, so the order of arguments does not matter)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """Thread-safe get/put of :class:`Answer` by key."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, image_hash TEXT, "
            "label INTEGER, status TEXT, raw TEXT, latency_s REAL, info TEXT, created REAL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, job_id TEXT, state TEXT, created REAL)"
        )

    def get_many(self, keys: list[str]) -> dict[str, Answer]:
        out: dict[str, Answer] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = self._db.execute(
                    f"SELECT key, label, status, raw, latency_s, info FROM responses WHERE key IN "
                    f"({','.join('?' * len(chunk))})", chunk,
                ).fetchall()
                for key, label, status, raw, latency, info in rows:
                    out[key] = Answer(int(label), status, raw, latency, json.loads(info or "{}"))
        return out

    def put(self, key: str, answer: Answer, model: str = "", image_hash: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?)",
                (key, model, image_hash, int(answer.label), answer.status, answer.raw, answer.latency_s,
                 json.dumps(answer.info), time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def get_job(self, key: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT job_id, state FROM jobs WHERE key=?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def put_job(self, key: str, job_id: str, state: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO jobs VALUES (?,?,?,?)", (key, job_id, state, time.time()))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def answer_dict(a: Answer) -> dict:
    return asdict(a)
