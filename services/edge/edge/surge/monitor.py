"""Background thread of one edge process: admission ticks, RabbitMQ RPC queue depth (≤ 1 read/s) and the
exchange of the waiting line's parts and of rate-limit counts with the other edge processes."""
from __future__ import annotations

import logging
import threading
from urllib.parse import quote, urlparse

import requests

from edge.surge.admission import Admission
from edge.surge.ratelimit import Limiter

log = logging.getLogger(__name__)
RPC_QUEUES = tuple(f"rpc-{name}" for name in ("identity", "forms", "verification", "documents"))
TICK_SECONDS = 0.1


def vhost_of(amqp_uri: str) -> str:
    path = urlparse(amqp_uri).path
    return path[1:] if len(path) > 1 else "/"


class QueueDepthProbe:
    """Messages waiting in the services' RPC queues, from the management HTTP API."""

    def __init__(self, api: str, amqp_uri: str) -> None:
        parsed = urlparse(api)
        self.base = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 15672}"
        self.auth = (parsed.username or "guest", parsed.password or "guest")
        self.vhost = quote(vhost_of(amqp_uri), safe="")
        self.session = requests.Session()

    def depth(self) -> int:
        url = f"{self.base}/api/queues/{self.vhost}?columns=name,messages_ready"
        response = self.session.get(url, auth=self.auth, timeout=0.5)
        response.raise_for_status()
        return sum(int(q.get("messages_ready") or 0) for q in response.json() if q.get("name") in RPC_QUEUES)


class Monitor:
    """Started lazily (after gunicorn forks); a daemon thread that stops with the process."""

    def __init__(self, admission: Admission, probe: QueueDepthProbe | None, limiter: Limiter | None = None,
                 sync_seconds: float = 0.3) -> None:
        self.admission = admission
        self.probe = probe
        self.limiter = limiter
        self.sync_every = max(1, round(sync_seconds / TICK_SECONDS))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="edge-monitor", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(TICK_SECONDS):
            ticks += 1
            if self.probe is not None and ticks % 10 == 0:
                try:
                    self.admission.observe_queue_depth(self.probe.depth())
                except Exception as exc:  # the management API is advisory: keep the last figure
                    log.debug("queue depth unavailable: %r", exc)
            try:
                self.admission.tick()
            except Exception:
                log.exception("admission tick failed")
            if ticks % self.sync_every == 0:
                self.admission.sync_line_in_background()  # store failures are handled inside
                if self.limiter is not None:
                    try:
                        self.limiter.sync()  # store failures are handled inside; this is for anything else
                    except Exception:
                        log.exception("rate limit sync failed")
