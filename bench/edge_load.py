"""Edge load bench: read-path capacity, then goodput at 10x overload (admission control on).

Starts SecantusDB, a stand-in `identity` nameko service (20 ms per call) on its own RabbitMQ vhost and
the edge under gunicorn gthread; drives it from a thread pool on loopback; writes bench/results/edge_load.md.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from nameko.rpc import rpc

ROOT = Path(__file__).resolve().parents[1]
VHOST = "pupns_bench"
WORK_SECONDS = 0.02


class BenchIdentity:
    """Stand-in back end: every call costs WORK_SECONDS (a login would cost a scrypt hash)."""

    name = "identity"

    @rpc
    def get_me(self, nip):
        import eventlet

        eventlet.sleep(WORK_SECONDS)
        return {"nip": nip, "status": "draft"}

    @rpc
    def issue_token(self, username, password):
        import eventlet

        eventlet.sleep(WORK_SECONDS)
        return {"access_token": "x", "token_type": "Bearer", "expires_in": 900, "role": "pns"}


def ensure_vhost() -> str:
    api = "http://127.0.0.1:15672/api"
    requests.put(f"{api}/vhosts/{VHOST}", auth=("guest", "guest"), timeout=5).raise_for_status()
    requests.put(f"{api}/permissions/{VHOST}/guest", json={"configure": ".*", "write": ".*", "read": ".*"},
                 auth=("guest", "guest"), timeout=5).raise_for_status()
    return f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


def percentile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def run_load(base: str, make_request, seconds: float, clients: int, rate: float | None) -> dict:
    """Closed loop (rate None) or open loop at `rate` req/s, bounded by `seconds` and `clients` threads."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    session_local = threading.local()

    def one() -> None:
        session = getattr(session_local, "s", None) or requests.Session()
        session_local.s = session
        started = time.monotonic()
        try:
            status = make_request(session, base).status_code
        except requests.RequestException:
            status = 0
        with lock:
            results.append((status, time.monotonic() - started))

    with ThreadPoolExecutor(clients) as pool:
        if rate is None:
            def loop() -> None:
                while time.monotonic() < deadline:
                    one()
            for _ in range(clients):
                pool.submit(loop)
        else:
            sent, start = 0, time.monotonic()
            while time.monotonic() < deadline:
                due = int((time.monotonic() - start) * rate)
                while sent < due and pool._work_queue.qsize() < clients * 4:
                    pool.submit(one)
                    sent += 1
                time.sleep(0.002)
    ok = [lat for status, lat in results if status == 200]
    by_status: dict[int, int] = {}
    for status, _ in results:
        by_status[status] = by_status.get(status, 0) + 1
    return {"requests": len(results), "goodput": len(ok) / seconds, "offered": len(results) / seconds,
            "p50_ms": percentile(ok, 0.5), "p99_ms": percentile(ok, 0.99), "by_status": by_status,
            "reject_p99_ms": percentile([lat for s, lat in results if s == 503], 0.99)}


def read_me(session: requests.Session, base: str) -> requests.Response:
    return session.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def login(session: requests.Session, base: str) -> requests.Response:
    return session.post(f"{base}/api/v1/auth/token", json={"username": "u" + str(time.monotonic_ns()),
                                                             "password": "p"}, timeout=10)


TOKEN = ""


def main(seconds: float = 10.0) -> None:
    """Run both phases and write the results file."""
    global TOKEN
    from pupns.auth import issue_token
    from pupns_dev.processes import free_port, start_secantus, stop, wait_for_port

    tmp = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    amqp = ensure_vhost()
    mongo_port, edge_port = free_port(), free_port()
    mongo = start_secantus(mongo_port, ":memory:", tmp / "secantus.log")
    env = {**os.environ, "PUPNS_AMQP_URI": amqp,
           "PUPNS_MONGO_URI": f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
           "PUPNS_EDGE_BIND": f"127.0.0.1:{edge_port}", "PUPNS_EDGE_WORKERS": "2", "PUPNS_EDGE_THREADS": "16",
           "PUPNS_EDGE_USER_RATE": "100000", "PUPNS_EDGE_USER_BURST": "100000", "PUPNS_EDGE_LOGIN_BURST": "5",
           "PUPNS_EDGE_CAPACITY": "8", "PUPNS_EDGE_LATENCY_TARGET": "0.1", "PUPNS_RABBIT_API": "http://guest:guest@127.0.0.1:15672"}
    service = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", amqp, "bench.edge_load"],
                               cwd=ROOT, env=env, stdout=open(tmp / "svc.log", "ab"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "services/edge/gunicorn.conf.py", "edge.app:app"]
    edge = subprocess.Popen(gunicorn,
                            cwd=ROOT, env=env, stdout=open(tmp / "edge.log", "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{edge_port}"
    try:
        wait_for_port(edge_port, edge)
        TOKEN = issue_token("199001012015031001", "pns", "A01")["access_token"]
        for _ in range(200):  # warm up: proxies started, service consuming
            if read_me(requests, base).status_code == 200:
                break
            time.sleep(0.1)
        print("phase 1: read-path capacity (closed loop, 32 clients)", flush=True)
        capacity = run_load(base, read_me, seconds, 32, None)
        print(f"  {capacity}", flush=True)
        offered = max(10.0, capacity["goodput"] * 10)
        print(f"phase 2: 10x overload on a queued route at {offered:.0f} req/s (open loop)", flush=True)
        overload = run_load(base, login, seconds, 128, offered)
        print(f"  {overload}", flush=True)
        write_results(capacity, overload, offered, seconds)
    finally:
        stop(edge)
        stop(service)
        stop(mongo)


def _finite(obj):
    """JSON without NaN (a phase with no 503s has no reject latency)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def write_results(capacity: dict, overload: dict, offered: float, seconds: float) -> None:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    lines = [
        "# Edge load bench", "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc={os.cpu_count()}, CPU: {cpu}, Python {platform.python_version()}",
        "- setup: gunicorn gthread 2 workers x 16 threads, admission capacity 8/worker, target 100 ms;"
        " stand-in identity service (20 ms/call, nameko 10 workers);"
        " client, edge, broker and SecantusDB share the machine (loopback)",
        f"- each phase: {seconds:.0f} s", "",
        "| phase | offered req/s | goodput (200/s) | p50 ms | p99 ms | 503 p99 ms | answers by status |",
        "|---|---|---|---|---|---|---|",
        f"| read path GET /api/v1/me (closed loop, 32 clients) | {capacity['offered']:.0f} |"
        f" {capacity['goodput']:.0f} | {capacity['p50_ms']:.1f} | {capacity['p99_ms']:.1f} |"
        f" {capacity['reject_p99_ms']:.1f} | {capacity['by_status']} |",
        f"| 10x overload POST /api/v1/auth/token (target {offered:.0f}/s) | {overload['offered']:.0f} |"
        f" {overload['goodput']:.0f} | {overload['p50_ms']:.1f} | {overload['p99_ms']:.1f} |"
        f" {overload['reject_p99_ms']:.1f} | {overload['by_status']} |", "",
        "Status 0 = client-side timeout or connection error. Overload clients do not retry with their ticket.",
    ]
    out = ROOT / "bench" / "results" / "edge_load.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    figures = {"read": {k: capacity[k] for k in ("goodput", "offered", "p50_ms", "p99_ms")},
               "overload": {k: overload[k] for k in ("goodput", "offered", "p50_ms", "p99_ms", "reject_p99_ms")},
               "overload_target_rps": offered}
    out.with_suffix(".json").write_text(json.dumps(_finite(figures)))
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
