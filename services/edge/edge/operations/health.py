"""Liveness and readiness: ready only when the broker and the store both answer within about a second.

The answer is computed at most once a second per process (single flight) and served from that cache meanwhile:
a flood of probes costs no broker connection and no store round trip beyond that.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from kombu import Connection
from pymongo import MongoClient

from edge.http.responses import error_response, json_response
from edge.rpc import unavailable

CHECK_SECONDS = 1.0
CACHE_SECONDS = 1.0
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="edge-ready")
_clients: dict[str, MongoClient] = {}


def broker_answers(amqp_uri: str) -> bool:
    conn = Connection(amqp_uri, connect_timeout=CHECK_SECONDS)
    try:
        conn.connect()
        return bool(conn.connected)
    finally:
        conn.release()


def store_answers(mongo_uri: str) -> bool:
    client = _clients.get(mongo_uri)
    if client is None:  # one client per process, kept: its pool is reused by every check
        ms = int(CHECK_SECONDS * 1000)
        client = _clients[mongo_uri] = MongoClient(mongo_uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms,
                                                   socketTimeoutMS=ms)
    client.admin.command("ping")
    return True


class Readiness:
    """The last readiness answer of this process, recomputed at most once every CACHE_SECONDS."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, bool]] | None = None

    def results(self, amqp_uri: str, mongo_uri: str) -> dict[str, bool]:
        with self._lock:  # one check at a time; probes arriving meanwhile get its answer
            if self._cached is None or self.clock() - self._cached[0] >= CACHE_SECONDS:
                self._cached = (self.clock(), check(amqp_uri, mongo_uri))
            return self._cached[1]


def check(amqp_uri: str, mongo_uri: str) -> dict[str, bool]:
    """Ask the broker and the store, each within about a second."""
    checks = {"broker": _pool.submit(broker_answers, amqp_uri), "store": _pool.submit(store_answers, mongo_uri)}
    results: dict[str, bool] = {}
    for name, future in checks.items():
        try:
            results[name] = bool(future.result(timeout=CHECK_SECONDS + 0.2))
        except (FutureTimeout, Exception):
            results[name] = False
    return results


def readiness(results: dict[str, bool]):
    """200 {broker, store} when both answered in time; otherwise the 503 envelope naming what failed."""
    if all(results.values()):
        return json_response({"status": "ready", **{k: "ok" for k in results}})
    failed = [name for name, ok in results.items() if not ok]
    exc = unavailable(1)
    exc.extra["checks"] = {name: ("ok" if ok else "failed") for name, ok in results.items()}
    exc.message = f"Belum siap: {', '.join(failed)} tidak menjawab."
    return error_response(exc)
