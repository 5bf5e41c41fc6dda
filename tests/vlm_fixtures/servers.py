"""Real HTTP servers on 127.0.0.1 for the OpenAI-path tests.

* :func:`start_llama_server` runs llama-cpp-python's own OpenAI-compatible server
  (``python -m llama_cpp.server``) on the tiny GGUF pair, in a subprocess.
* :class:`ScriptedProxy` is a small stdlib HTTP server in front of it: each chat-completion
  request takes the next step of a script — answer 429 or 500, stall past the client's timeout,
  return a canned answer (a non-label, a refusal, too few answers), or pass the request on to the
  real server — and it records every request it saw. It also speaks just enough of the OpenAI
  Files and Batches endpoints to run a Batch API job against the real server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_llama_server(model: Path, mmproj: Path, log: Path, timeout_s: float = 600.0):
    """Yield the base URL (``http://127.0.0.1:PORT/v1``) of a running llama_cpp.server; always stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--clip_model_path", str(mmproj),
           "--chat_format", "llava-1-5", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
           "--n_threads", "2", "--verbose", "false"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "NO_PROXY": "127.0.0.1"})
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def completion(content: str | None, refusal: str | None = None, model: str = "scripted") -> dict:
    """A chat-completion body as the OpenAI API returns it."""
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


class ScriptedProxy:
    """``steps`` are consumed one per chat request; when they run out every request is proxied.

    A step is ``"proxy"``, ``("status", code)``, ``("stall", seconds)`` (then a 504), or
    ``("answer", content)`` / ``("refusal", text)`` / a callable ``f(request_json) -> dict``.
    """

    def __init__(self, upstream: str | None, steps: list | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.steps = list(steps or [])
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: dict | bytes, headers: dict | None = None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                proxy._get(self)

            def do_POST(self):
                proxy._post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- chat completions --------------------------------------------------------------------------
    def chat(self, body: dict) -> tuple[int, dict, dict]:
        with self._lock:
            step = self.steps.pop(0) if self.steps else "proxy"
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._chat(step, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _chat(self, step, body: dict) -> tuple[int, dict, dict]:
        if isinstance(step, tuple) and step[0] == "status":  # ("status", code[, retry_after_header])
            retry_after = step[2] if len(step) > 2 else "0"
            return step[1], {"error": {"message": f"scripted {step[1]}", "type": "server_error"}}, (
                {"retry-after": retry_after} if retry_after is not None else {})
        if isinstance(step, tuple) and step[0] == "stall":  # the client has given up by the time this answers
            time.sleep(step[1])
            return 504, {"error": {"message": "scripted stall"}}, {}
        if isinstance(step, tuple) and step[0] == "answer":
            return 200, completion(step[1], model=body.get("model", "scripted")), {}
        if isinstance(step, tuple) and step[0] == "refusal":
            return 200, completion(None, refusal=step[1], model=body.get("model", "scripted")), {}
        if callable(step):
            return 200, step(body), {}
        return self.forward(body)

    def forward(self, body: dict) -> tuple[int, dict, dict]:
        if self.upstream is None:
            return 502, {"error": {"message": "no upstream"}}, {}
        req = urllib.request.Request(f"{self.upstream}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, json.loads(r.read()), {}
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}"), {}

    # -- routing -------------------------------------------------------------------------------------
    def _post(self, h) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        with self._lock:
            self.headers.append({k.lower(): v for k, v in h.headers.items()})
        if h.path.endswith("/chat/completions"):
            body = json.loads(raw)
            with self._lock:
                self.requests.append(body)
            code, out, headers = self.chat(body)
            h._send(code, out, headers)
        elif h.path.endswith("/files"):
            content = _multipart_file(raw, h.headers.get("Content-Type", ""))
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = content
            h._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": 0,
                          "filename": "input.jsonl", "purpose": "batch", "status": "processed"})
        elif h.path.endswith("/batches"):
            req = json.loads(raw)
            bid = f"batch-{len(self.batches) + 1}"
            self.batches[bid] = {"id": bid, "object": "batch", "endpoint": req["endpoint"], "status": "in_progress",
                                 "input_file_id": req["input_file_id"], "completion_window": "24h",
                                 "created_at": 0, "output_file_id": None}
            threading.Thread(target=self._run_batch, args=(bid,), daemon=True).start()
            h._send(200, self.batches[bid])
        else:
            h._send(404, {"error": {"message": f"no route {h.path}"}})

    def _get(self, h) -> None:
        parts = h.path.rstrip("/").split("/")
        if "batches" in parts:
            h._send(200, self.batches[parts[-1]])
        elif parts[-1] == "content":
            h._send(200, self.files[parts[-2]])
        else:
            h._send(404, {"error": {"message": f"no route {h.path}"}})

    def _run_batch(self, bid: str) -> None:
        job = self.batches[bid]
        out = []
        for line in self.files[job["input_file_id"]].decode().splitlines():
            item = json.loads(line)
            with self._lock:
                self.requests.append(item["body"])
            code, body, _ = self.forward(item["body"])
            out.append(json.dumps({"id": f"req-{len(out)}", "custom_id": item["custom_id"],
                                   "response": {"status_code": code, "body": body}, "error": None}))
        fid = f"file-{len(self.files) + 1}"
        self.files[fid] = "\n".join(out).encode()
        job.update(status="completed", output_file_id=fid)


def _multipart_file(raw: bytes, content_type: str) -> bytes:
    """The file part of a multipart/form-data body."""
    boundary = content_type.split("boundary=")[-1].strip('"').encode()
    for part in raw.split(b"--" + boundary):
        if b'name="file"' in part:
            body = part.split(b"\r\n\r\n", 1)[1]
            return body[:-2] if body.endswith(b"\r\n") else body
    raise ValueError("no file in the upload")
