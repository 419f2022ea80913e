"""While the edge is flooded, a verifier keeps using the console: how its answers look (bench only).

The console is its own gunicorn on its own port and never queued by the edge; it shares the back end.
The probe logs in through the edge before the flood (staff tokens come from identity), then loads the
pending-registrations page (one RPC to verification) a few times a second until told to stop.
"""
from __future__ import annotations

import threading
import time

import requests

from bench.loadgen import pct
from console.session import SESSION_COOKIE


class ConsoleProbe:
    """A background thread of GET /registrations with a verifier's session cookie."""

    def __init__(self, edge_url: str, console_url: str, verifier: dict, interval: float = 0.2) -> None:
        self.edge_url, self.console_url, self.verifier, self.interval = edge_url, console_url, verifier, interval
        self.results: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _token(self) -> str:
        answer = requests.post(f"{self.edge_url}/api/v1/auth/token", timeout=30,
                               json={"username": self.verifier["username"], "password": self.verifier["password"]})
        answer.raise_for_status()
        return answer.json()["access_token"]

    def start(self) -> None:
        session = requests.Session()
        session.cookies.set(SESSION_COOKIE, self._token())
        self._thread = threading.Thread(target=self._run, args=(session,), daemon=True)
        self._thread.start()

    def _run(self, session: requests.Session) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                kind = str(session.get(f"{self.console_url}/registrations", timeout=10, allow_redirects=False)
                           .status_code)
            except requests.RequestException as exc:
                kind = type(exc).__name__
            self.results.append((kind, time.monotonic() - started))

    def stop(self) -> dict:
        """Stop and summarise: answers by status and the latency of the 200s."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        ok = [lat for kind, lat in self.results if kind == "200"]
        counts: dict[str, int] = {}
        for kind, _ in self.results:
            counts[kind] = counts.get(kind, 0) + 1
        return {"console_answers": counts, "console_p50_ms": pct(ok, 0.5), "console_p99_ms": pct(ok, 0.99)}
