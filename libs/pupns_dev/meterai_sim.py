"""A local fake of the national e-Meterai (electronic stamp duty) provider, for `make run` and tests.

The real provider is outside our control, so locally it is this small HTTP server:
- `POST /stamp` {reference, document_b64} -> 200 {serial, stamped_pdf_b64}. "Stamping" appends a marker
  (a PDF comment after the last %%EOF, which readers ignore) naming the serial. The same `reference`
  always gets the same serial: a retry after a lost answer is never stamped (and charged) twice.
- `POST /_outage` {down: true|false, mode?} simulates an outage. Modes while down: `unavailable` (503, the
  default), `slow` (answers only after `delay` seconds, past the client's timeout), `garbage` (200 with a
  body that is not JSON), `reject` (400, the provider refuses the document).
- `GET /_status` -> {down, mode, requests, stamped}.
Start it down with `--down` (or PUPNS_METERAI_SIM_DOWN=1).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_PORT = 8009
MODES = ("unavailable", "slow", "garbage", "reject")
MAX_BODY = 8 * 1024 * 1024


class ProviderState:
    """What the fake provider remembers: the outage switch and the stamps it issued (by reference)."""

    def __init__(self, down: bool = False):
        self.lock = threading.Lock()
        self.down, self.mode, self.delay = down, "unavailable", 8.0
        self.requests = 0
        self.issued: dict[str, tuple[str, bytes]] = {}

    def stamp(self, reference: str, document: bytes) -> tuple[str, bytes]:
        with self.lock:
            if reference not in self.issued:
                serial = f"EMT-{uuid.uuid4().hex[:16].upper()}"
                marker = f"\n%e-Meterai serial={serial} reference={reference} nilai=10000\n%%EOF\n"
                self.issued[reference] = (serial, document + marker.encode())
            return self.issued[reference]

    def status(self) -> dict:
        return {"down": self.down, "mode": self.mode, "requests": self.requests, "stamped": len(self.issued)}


class Handler(BaseHTTPRequestHandler):
    server_version = "eMeteraiSim/1.0"
    state: ProviderState  # set on the subclass made by `make_server`

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("meterai-sim: " + fmt % args + "\n")

    def _reply(self, status: int, body: dict | bytes) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/html")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_status":
            return self._reply(200, self.state.status())
        self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        if body is None:
            return self._reply(400, {"error": "request body must be a JSON object"})
        if self.path == "/_outage":
            return self._set_outage(body)
        if self.path != "/stamp":
            return self._reply(404, {"error": "not found"})
        with self.state.lock:
            self.state.requests += 1
        if self.state.down:
            return self._outage_answer()
        reference = body.get("reference")
        try:
            document = base64.b64decode(body.get("document_b64") or "", validate=True)
        except (binascii.Error, ValueError):
            document = b""
        if not isinstance(reference, str) or not reference or not document.startswith(b"%PDF-"):
            return self._reply(400, {"error": "reference and a PDF document_b64 are required"})
        serial, stamped = self.state.stamp(reference, document)
        self._reply(200, {"serial": serial, "stamped_pdf_b64": base64.b64encode(stamped).decode("ascii")})

    def _set_outage(self, body: dict) -> None:
        mode = body.get("mode", "unavailable")
        if not isinstance(body.get("down"), bool) or mode not in MODES:
            return self._reply(400, {"error": f"expected {{down: bool, mode: one of {MODES}}}"})
        with self.state.lock:
            self.state.down, self.state.mode = body["down"], mode
            self.state.delay = float(body.get("delay", self.state.delay))
        self._reply(200, self.state.status())

    def _outage_answer(self) -> None:
        mode = self.state.mode
        if mode == "slow":
            time.sleep(self.state.delay)
            return self._reply(503, {"error": "gateway timeout"})
        if mode == "garbage":
            return self._reply(200, b"<html><body>Maintenance</body></html>")
        if mode == "reject":
            return self._reply(400, {"error": "dokumen ditolak"})
        self._reply(503, {"error": "layanan e-Meterai sedang gangguan"})


def make_server(port: int, host: str = "127.0.0.1", down: bool = False) -> ThreadingHTTPServer:
    """A server (not yet serving) with its own state; `server.state` is the switchboard."""
    handler = type("BoundHandler", (Handler,), {"state": ProviderState(down)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.state = handler.state  # type: ignore[attr-defined]
    return server


def start(port: int, log_path: Path, down: bool = False,
          started: Callable[[subprocess.Popen], None] | None = None) -> subprocess.Popen:
    """Run the simulator as its own process and wait until it listens (used by the stack and tests)."""
    from pupns_dev.processes import start_listening

    argv = [sys.executable, "-m", "pupns_dev.meterai_sim", "--port", str(port)] + (["--down"] if down else [])
    return start_listening(argv, port, log_path, started)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake e-Meterai provider (local development and tests).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--down", action="store_true", default=os.environ.get("PUPNS_METERAI_SIM_DOWN") == "1",
                        help="start in an outage (503 on /stamp until POST /_outage {down: false})")
    args = parser.parse_args()
    server = make_server(args.port, args.host, args.down)
    print(f"e-Meterai simulator on http://{args.host}:{args.port} (down={args.down})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
