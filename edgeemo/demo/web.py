"""A local web page with the live annotated stream (standard library only).

``/`` is the page, ``/stream.mjpg`` the MJPEG stream (multipart/x-mixed-replace), ``/frame.jpg``
the latest frame and ``/stats.json`` the live figures. It binds 127.0.0.1 unless told otherwise,
so a headless board (a Jetson, a Raspberry Pi) can be watched through an SSH tunnel.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from ..errors import EdgeemoError

BOUNDARY = "edgeemoframe"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeemo demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif}
header{padding:8px 14px;background:#222}main{display:flex;flex-wrap:wrap;gap:14px;padding:14px}
img{max-width:100%;background:#000;border:1px solid #333}
table{border-collapse:collapse}td{padding:2px 10px 2px 0}td:first-child{color:#999}
#state{font-weight:bold}
</style></head>
<body><header><b>edgeemo</b> live emotion demo &middot; <span id="state">connecting&hellip;</span></header>
<main><img id="stream" src="/stream.mjpg" alt="annotated live stream">
<table id="stats"></table></main>
<script>
const rows = ["source","model","detector","frame","fps","faces","tracks","stages_ms","status"];
async function poll() {
  try {
    const r = await fetch("/stats.json", {cache: "no-store"});
    const s = await r.json();
    document.getElementById("state").textContent = s.status || "live";
    const t = document.getElementById("stats");
    t.innerHTML = "";
    for (const k of rows) {
      if (!(k in s)) continue;
      let v = s[k];
      if (k === "stages_ms") v = Object.entries(v).map(([a, b]) => a + " " + b.toFixed(1)).join(", ");
      if (k === "fps") v = v.toFixed(1);
      const tr = t.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v;
    }
    for (const f of (s.faces || [])) {
      const tr = t.insertRow(); tr.className = "face";
      tr.insertCell().textContent = "#" + f.id;
      tr.insertCell().textContent = f.label + " " + Math.round(100 * f.confidence) + "%";
    }
  } catch (e) { document.getElementById("state").textContent = "disconnected"; }
}
poll(); setInterval(poll, 500);
</script></body></html>
"""


class FrameHub:
    """The newest annotated frame and stats, shared between the demo loop and the web clients."""

    def __init__(self, quality: int = 80) -> None:
        self.quality = quality
        self.clients = 0
        self.closed = False
        self.seq = 0
        self._jpeg: bytes | None = None
        self._jpeg_seq = -1
        self._image: np.ndarray | None = None
        self._stats: dict = {}
        self._cond = threading.Condition()

    def _encode(self, img: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - imencode fails only on invalid images
            raise EdgeemoError("could not encode a frame as JPEG")
        return buf.tobytes()

    def publish(self, img: np.ndarray, stats: dict | None = None) -> None:
        """Offer a new frame; it is JPEG-encoded here only while someone watches the stream."""
        jpeg = self._encode(img) if self.clients > 0 else None
        with self._cond:
            self.seq += 1
            self._image = img
            if jpeg is not None:
                self._jpeg, self._jpeg_seq = jpeg, self.seq
            if stats is not None:
                self._stats = stats
            self._cond.notify_all()

    def set_stats(self, **values) -> None:
        with self._cond:
            self._stats = {**self._stats, **values}

    def stats(self) -> dict:
        with self._cond:
            return {**self._stats, "clients": self.clients}

    def latest_jpeg(self) -> bytes | None:
        with self._cond:
            seq, img, jpeg, jseq = self.seq, self._image, self._jpeg, self._jpeg_seq
        if img is None:
            return None
        if jseq == seq and jpeg is not None:
            return jpeg
        return self._encode(img)

    def wait_jpeg(self, after: int, timeout: float = 1.0) -> tuple[int, bytes | None]:
        """Block until a frame newer than ``after`` exists (or timeout/close); returns (seq, jpeg)."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.seq > after, timeout=timeout)
            if self.closed or self.seq <= after:
                return after, None
            seq, img, jpeg, jseq = self.seq, self._image, self._jpeg, self._jpeg_seq
        if jseq != seq or jpeg is None:
            jpeg = self._encode(img)
        return seq, jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        hub = self.server.hub
        path = self.path.split("?", 1)[0]
        try:
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/stats.json":
                self._send(HTTPStatus.OK, json.dumps(hub.stats()).encode(), "application/json")
            elif path == "/frame.jpg":
                jpeg = hub.latest_jpeg()
                if jpeg is None:
                    self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"no frame yet\n", "text/plain")
                else:
                    self._send(HTTPStatus.OK, jpeg, "image/jpeg")
            elif path == "/stream.mjpg":
                self._stream(hub)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found: try / or /stream.mjpg\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True  # the client went away

    def _stream(self, hub: FrameHub) -> None:
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        with hub._cond:
            hub.clients += 1
        try:
            seq = 0
            while not hub.closed and not self.server.stopping:
                seq, jpeg = hub.wait_jpeg(seq, timeout=0.5)
                if jpeg is None:
                    continue
                self.wfile.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg + b"\r\n")
                self.wfile.flush()
        finally:
            with hub._cond:
                hub.clients -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], hub: FrameHub) -> None:
        self.hub = hub
        self.stopping = False
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address) -> None:
        pass  # a client that vanished mid-request is not the demo's problem


class WebServer:
    """Serve a :class:`FrameHub` on ``http://host:port/`` from a background thread (port 0 = any free)."""

    def __init__(self, hub: FrameHub, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.hub = hub
        try:
            self.httpd = _Server((host, port), hub)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EdgeemoError(f"port {port} on {host} is already in use: pass another --port "
                                   "(or --port 0 for any free one)") from exc
            raise EdgeemoError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; check --host/--port") from exc
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="edgeemo-web", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: streams end within half a second, then the socket closes."""
        self.httpd.stopping = True
        self.hub.close()
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
