"""Edge load bench: read-path capacity of the real stack, then goodput when offered up to 10x that.

Starts the whole platform (pupns_dev.stack, fresh vhost, in-memory SecantusDB), seeds a small demo roster,
registers and confirms one PNS, then drives GET /api/v1/me with that PNS's token from a separate process
(asyncio, raw keep-alive HTTP/1.1 connections, open loop). Writes bench/results/edge_load.{md,json,png}.
Usage: python bench/edge_load.py [seconds-per-phase]   (loopback only; about 2-3 minutes in all)
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-rahasia-2015"


# -- the load generator (runs in its own process) ------------------------------------------------------
class Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request outstanding."""

    def __init__(self) -> None:
        self.buf, self.waiter, self.transport = b"", None, None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        length = content_length(self.buf[:end])
        if len(self.buf) < end + 4 + length:
            return
        status, body = int(self.buf[9:12]), self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        waiter, self.waiter = self.waiter, None
        waiter.set_result("503q" if status == 503 and b'"queue"' in body else str(status))

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(exc))
        self.transport = None


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def drive(port: int, token: str, rate: float | None, seconds: float, conns: int) -> dict:
    """Closed loop with `conns` clients (rate None) or open loop at `rate` req/s over up to `conns` connections."""
    loop = asyncio.get_running_loop()
    request = (f"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()
    idle: list[Conn] = []
    open_conns, results, skipped = [0], [], [0]

    async def one() -> None:
        conn = idle.pop() if idle else None
        if conn is None:
            if open_conns[0] >= conns:
                skipped[0] += 1
                return
            open_conns[0] += 1
            try:
                _, conn = await loop.create_connection(Conn, "127.0.0.1", port)
            except OSError:
                open_conns[0] -= 1
                results.append(("connect_error", 0.0))
                return
        started = loop.time()
        conn.waiter = loop.create_future()
        conn.transport.write(request)
        try:
            kind = await asyncio.wait_for(conn.waiter, 10)
            idle.append(conn)
        except (TimeoutError, ConnectionError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "conn_error"
            open_conns[0] -= 1
            if conn.transport:
                conn.transport.close()
        results.append((kind, loop.time() - started))

    start = loop.time()
    if rate is None:
        async def client() -> None:
            while loop.time() - start < seconds:
                await one()
        await asyncio.gather(*(client() for _ in range(conns)))
    else:
        tasks, sent = set(), 0
        while (now := loop.time() - start) < seconds:
            for _ in range(int(now * rate) - sent):
                sent += 1
                task = loop.create_task(one())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(0.001)
        await asyncio.wait(tasks, timeout=15) if tasks else None
    elapsed = loop.time() - start
    for conn in idle:
        conn.transport and conn.transport.close()
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**summarize(results, elapsed, skipped[0], rate),
            "client_cpu_share": round((usage.ru_utime + usage.ru_stime) / elapsed, 2)}


def pct(values: list[float], q: float) -> float | None:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000, 2) if values else None


def summarize(results: list[tuple[str, float]], seconds: float, skipped: int, rate: float | None) -> dict:
    counts: dict[str, int] = {}
    for kind, _ in results:
        counts[kind] = counts.get(kind, 0) + 1
    ok = [lat for kind, lat in results if kind.startswith("2")]
    away = [lat for kind, lat in results if kind in ("503q", "429")]
    other = sum(n for k, n in counts.items() if not (k.startswith("2") or k in ("503q", "429")))
    return {"target_rps": rate, "offered_rps": round(len(results) / seconds, 1),
            "goodput_rps": round(len(ok) / seconds, 1),
            "ok_p50_ms": pct(ok, 0.5), "ok_p99_ms": pct(ok, 0.99), "away_p50_ms": pct(away, 0.5),
            "away_p99_ms": pct(away, 0.99), "counts": counts, "other": other, "client_skipped": skipped}


# -- the orchestration -----------------------------------------------------------------------------------
def edge_cpu(master: int) -> float:
    """CPU seconds used so far by the edge's gunicorn workers (children of the master)."""
    total = 0.0
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_phase(port: int, token: str, rate: float | None, seconds: float, conns: int, master: int) -> dict:
    argv = [sys.executable, __file__, "--drive", str(port), token, str(rate or 0), str(seconds), str(conns)]
    before, started = edge_cpu(master), time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "edge_cpu_share": round((edge_cpu(master) - before) / (time.monotonic() - started), 2)}


def pns_token(cfg, demo) -> str:
    import csv

    import requests

    from pupns_dev.waiting import wait_until

    api = cfg.edge_url + "/api/v1"
    with demo["roster"].open(newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    nip, verifier = row["nip"], demo["verifiers"][row["instansi_kode"]]
    requests.post(f"{api}/registrations", json={"nip": nip, "nik": row["nik"], "email": f"{nip}@contoh.go.id",
                                                "password": PASSWORD}, timeout=30).raise_for_status()
    vtoken = requests.post(f"{api}/auth/token", json={"username": verifier["username"],
                                                      "password": verifier["password"]}, timeout=30).json()
    auth = {"Authorization": f"Bearer {vtoken['access_token']}"}
    wait_until(lambda: requests.post(f"{api}/verifier/registrations/{nip}/confirm", headers=auth, timeout=30).ok,
               timeout=60, interval=0.3, message="registration confirmed")
    return wait_until(lambda: (r := requests.post(f"{api}/auth/token", json={"username": nip, "password": PASSWORD},
                                                  timeout=30)).ok and r.json()["access_token"],
                      timeout=60, interval=0.3, message="PNS can log in")


def main(seconds: float = 8.0) -> None:
    from pupns_dev.demo import seed_demo
    from pupns_dev.processes import free_port
    from pupns_dev.stack import Stack, StackConfig, delete_vhost

    workers, threads = os.environ.get("PUPNS_EDGE_WORKERS", "2"), os.environ.get("PUPNS_EDGE_THREADS", "16")
    cfg = StackConfig(var=Path(tempfile.mkdtemp(prefix="edge-bench-")), vhost=f"bench-{uuid.uuid4().hex[:8]}",
                      mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(),
                      console_port=free_port(), meterai_port=free_port(), storage=":memory:",
                      jwt_keys=f"b:{secrets.token_urlsafe(32)}",
                      admin_password=secrets.token_urlsafe(12),
                      extra_env={"PUPNS_EDGE_WORKERS": workers, "PUPNS_EDGE_THREADS": threads,
                                 "PUPNS_EDGE_USER_RATE": "1000000", "PUPNS_EDGE_USER_BURST": "1000000",
                                 "PUPNS_EDGE_LOGIN_RATE": "100"})
    stack = Stack(cfg)
    stack.start(progress=lambda m: print(m, flush=True))
    phases: list[dict] = []
    try:
        demo = seed_demo(cfg, roster_size=20, seed=7, progress=lambda m: print(m, flush=True))
        token = pns_token(cfg, demo)
        master = next(proc.pid for name, proc in stack.procs if name == "edge")
        run_phase(cfg.edge_port, token, None, 3, 8, master)  # warm up every thread's RPC proxy
        for conns in (4, 8, 12):  # closed loop: a turned-away client asks again at once, so keep it small
            phases.append({"phase": f"capacity, closed loop {conns} clients", **run_phase(
                cfg.edge_port, token, None, seconds, conns, master)})
            print(phases[-1], flush=True)
        capacity = max(p["goodput_rps"] for p in phases)
        for factor in (1, 2, 5, 10):
            rate = round(capacity * factor)
            phases.append({"phase": f"{factor}x capacity, open loop", "factor": factor, **run_phase(
                cfg.edge_port, token, rate, seconds, 1000, master)})
            print(phases[-1], flush=True)
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)
    write_results(phases, capacity, seconds, f"{workers} workers x {threads} threads")


def write_results(phases: list[dict], capacity: float, seconds: float, shape: str) -> None:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    facts = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(), "cpu": cpu,
             "python": platform.python_version(), "edge": f"gunicorn gthread {shape}", "seconds_per_phase": seconds}
    ten = next(p for p in phases if p.get("factor") == 10)
    headline = {"capacity_rps": capacity, "goodput_at_10x_rps": ten["goodput_rps"],
                "goodput_at_10x_share": round(ten["goodput_rps"] / capacity, 3), "turn_away_p50_ms": ten["away_p50_ms"],
                "turn_away_p99_ms": ten["away_p99_ms"], "other_answers_at_10x": ten["other"]}
    lines = ["# Edge load bench (bench/edge_load.py)", "", *(f"- {k}: {v}" for k, v in facts.items()),
             "- stack: the real platform on loopback (5 nameko services, RabbitMQ, SecantusDB, edge, console); the "
             "load generator (asyncio, keep-alive, open loop, ignores Retry-After) shares the same cores",
             "- route: GET /api/v1/me with one confirmed PNS's token (user rate limit raised for the bench)", "",
             "**" + ", ".join(f"{k} = {v}" for k, v in headline.items()) + "**", "",
             "| phase | target req/s | offered req/s | goodput 2xx/s | 2xx p50/p99 ms | turn-away p50/p99 ms |"
             " answers | other | CPU cores: edge / client |", "|---|---|---|---|---|---|---|---|---|"]
    for p in phases:
        lines.append(f"| {p['phase']} | {p['target_rps'] or '-'} | {p['offered_rps']} | {p['goodput_rps']} |"
                     f" {p['ok_p50_ms']}/{p['ok_p99_ms']} | {p['away_p50_ms']}/{p['away_p99_ms']} |"
                     f" {p['counts']} | {p['other']} | {p['edge_cpu_share']} / {p['client_cpu_share']} |")
    lines += ["", "`503q` = 503 with code `queue`; `other` = anything but 2xx, 503 queue, 429 (connection errors,"
              " timeouts, 500s). `client_skipped` in the JSON = requests the generator could not send (all"
              " 1000 connections busy)."]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "edge_load.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "edge_load.json").write_text(json.dumps({"facts": facts, **headline, "phases": phases}, indent=1))
    chart(phases, capacity)
    print(f"wrote {RESULTS}/edge_load.md, .json, .png", flush=True)


def chart(phases: list[dict], capacity: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    open_loop = [p for p in phases if p.get("factor")]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([p["offered_rps"] for p in open_loop], [p["goodput_rps"] for p in open_loop], "o-", label="goodput (2xx/s)")
    ax.axhline(capacity, color="grey", ls="--", label=f"capacity {capacity:.0f}/s")
    ax.axhline(0.95 * capacity, color="red", ls=":", label="95% of capacity")
    ax.set_xlabel("offered load (req/s, GET /api/v1/me)")
    ax.set_ylabel("goodput (req/s)")
    ax.set_ylim(0, capacity * 1.3)
    ax.set_title("PUPNS edge: goodput under overload (2 cores, loopback)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / "edge_load.png", dpi=100)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        port, token, rate, secs, conns = sys.argv[2:7]
        result = asyncio.run(drive(int(port), token, float(rate) or None, float(secs), int(conns)))
        print(json.dumps(result))
    else:
        started = time.monotonic()
        main(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0)
        print(f"done in {time.monotonic() - started:.0f} s", flush=True)
