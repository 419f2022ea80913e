"""Liveness and readiness: ready only when the broker and the store both answer within about a second."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from kombu import Connection
from pymongo import MongoClient

from edge.responses import error_response, json_response
from edge.rpc import unavailable

CHECK_SECONDS = 1.0
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="edge-ready")


def broker_answers(amqp_uri: str) -> bool:
    conn = Connection(amqp_uri, connect_timeout=CHECK_SECONDS)
    try:
        conn.connect()
        return bool(conn.connected)
    finally:
        conn.release()


def store_answers(mongo_uri: str) -> bool:
    ms = int(CHECK_SECONDS * 1000)
    client = MongoClient(mongo_uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms)
    try:
        client.admin.command("ping")
        return True
    finally:
        client.close()


def readiness(amqp_uri: str, mongo_uri: str):
    """200 {broker, store} when both answer in time; otherwise the 503 envelope naming what failed."""
    checks = {"broker": _pool.submit(broker_answers, amqp_uri), "store": _pool.submit(store_answers, mongo_uri)}
    results: dict[str, bool] = {}
    for name, future in checks.items():
        try:
            results[name] = bool(future.result(timeout=CHECK_SECONDS + 0.2))
        except (FutureTimeout, Exception):
            results[name] = False
    if all(results.values()):
        return json_response({"status": "ready", **{k: "ok" for k in results}})
    failed = [name for name, ok in results.items() if not ok]
    exc = unavailable(1)
    exc.extra["checks"] = {name: ("ok" if ok else "failed") for name, ok in results.items()}
    exc.message = f"Belum siap: {', '.join(failed)} tidak menjawab."
    return error_response(exc)
