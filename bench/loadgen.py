"""The edge bench's load generator: asyncio, raw keep-alive HTTP/1.1 connections, closed or open loop.

Runs in its own process (`python -m bench.loadgen PORT TOKEN RATE SECONDS CONNS` prints one JSON line), so
its CPU can be measured and placed apart from the platform's. It ignores Retry-After on purpose: the
harshest surge is clients that ask again at once.

Callbacks on uvloop, not a coroutine per request on the default loop: on the 2-core bench machine the
generator shares a core with the edge, so every microsecond it spends per request is taken from what it
measures (at 1000 req/s: 0.22 core with a coroutine per request, 0.12 like this). Latency is timed with
perf_counter (uvloop's loop clock has millisecond resolution). Like a browser, it
retires a keep-alive connection idle for longer than `IDLE_RETIRE` (the edge's gunicorn closes them after
5 s), so a server-side keep-alive close is never counted as the platform failing a request.
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from pathlib import Path
from time import perf_counter as clock

import uvloop

TICK = 0.001  # open loop: requests due are sent at most every millisecond
TIMEOUT = 10.0  # an answer later than this counts as a timeout
IDLE_RETIRE = 4.0  # below gunicorn's keep-alive of 5 s
TRACE = os.environ.get("PUPNS_LOADGEN_TRACE")  # a file to write every answer to: sent at, kind, latency


class Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request outstanding."""

    def __init__(self, gen: Generator) -> None:
        self.gen, self.buf, self.transport = gen, b"", None
        self.started: float | None = None  # when the outstanding request was written
        self.idle_since = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, now: float) -> None:
        self.started = now
        self.transport.write(self.gen.request_for(self))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.started is None:
            return
        length = content_length(self.buf[:end])
        if len(self.buf) < end + 4 + length:
            return
        status, body = int(self.buf[9:12]), self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        kind = "503q" if status == 503 and b'"queue"' in body else str(status)
        self.gen.answered(self, status, body)
        self.gen.finished(self, kind)

    def connection_lost(self, exc) -> None:
        self.transport = None
        if self.started is not None:
            self.gen.failed(self, "conn_error")


class Generator:
    """Sends GET /api/v1/me over up to `conns` connections and records (kind, latency) per answer."""

    def __init__(self, port: int, token: str, conns: int, closed_loop: bool) -> None:
        self.loop = asyncio.get_running_loop()
        self.port, self.conns, self.closed_loop = port, conns, closed_loop
        self.request = (f"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n").encode()
        self.idle: list[Conn] = []
        self.busy: set[Conn] = set()
        self.opening = 0
        self.results: list[tuple[str, float]] = []
        self.skipped = 0
        self.trace: list[tuple[float, str, float]] = []
        self.deadline = 0.0  # closed loop: no new request after this

    def request_for(self, conn: Conn) -> bytes:
        """The next request to write on `conn` (one fixed request here; bench.writeload varies it)."""
        return self.request

    def answered(self, conn: Conn, status: int, body: bytes) -> None:
        """Seen before an answer is recorded (bench.writeload learns form versions from it)."""

    @property
    def outstanding(self) -> int:
        return len(self.busy) + self.opening

    def fire(self) -> None:
        """Send one request on an idle connection, or open a new one if the cap allows."""
        now = clock()
        while self.idle:
            conn = self.idle.pop()
            if conn.transport is None:
                continue
            if now - conn.idle_since > IDLE_RETIRE:
                conn.transport.close()
                continue
            self.busy.add(conn)
            conn.send(now)
            return
        if self.outstanding >= self.conns:
            self.skipped += 1
            return
        self.opening += 1
        self.loop.create_task(self._open())

    async def _open(self) -> None:
        try:
            _, conn = await self.loop.create_connection(lambda: Conn(self), "127.0.0.1", self.port)
        except OSError:
            self.opening -= 1
            self.results.append(("connect_error", 0.0))
            return
        self.opening -= 1
        self.busy.add(conn)
        conn.send(clock())

    def finished(self, conn: Conn, kind: str) -> None:
        now = clock()
        self.results.append((kind, now - conn.started))
        if TRACE:
            self.trace.append((conn.started, kind, now - conn.started))
        conn.started, conn.idle_since = None, now
        self.busy.discard(conn)
        self.idle.append(conn)
        if self.closed_loop and now < self.deadline:
            self.fire()

    def failed(self, conn: Conn, kind: str) -> None:
        self.results.append((kind, clock() - conn.started))
        conn.started = None
        self.busy.discard(conn)
        if conn.transport is not None:
            conn.transport.close()
        if self.closed_loop and clock() < self.deadline:
            self.fire()

    def expire(self) -> None:
        """Count answers slower than TIMEOUT as timeouts (checked ten times a second)."""
        now = clock()
        for conn in [c for c in self.busy if now - c.started > TIMEOUT]:
            self.failed(conn, "timeout")

    def close(self) -> None:
        for conn in self.idle + list(self.busy):
            if conn.transport is not None:
                conn.transport.close()


async def drive(port: int, token: str, rate: float | None, seconds: float, conns: int,
                gen: Generator | None = None) -> dict:
    """Closed loop with `conns` clients (rate None) or open loop at `rate` req/s over up to `conns` connections."""
    gen = gen or Generator(port, token, conns, closed_loop=rate is None)
    start = clock()
    gen.deadline = start + seconds
    if rate is None:
        for _ in range(conns):
            gen.fire()
        while clock() < gen.deadline:
            await asyncio.sleep(0.1)
            gen.expire()
    else:
        sent, last_expire = 0, start
        while (now := clock()) < gen.deadline:
            for _ in range(int((now - start) * rate) - sent):
                sent += 1
                gen.fire()
            if now - last_expire > 0.1:
                gen.expire()
                last_expire = now
            # Sleep until the next request is due (at least a tick, at most until the next timeout check): a
            # slow flood (registrations, ~150/s) no longer wakes the generator a thousand times a second.
            await asyncio.sleep(min(max(start + (sent + 1) / rate - clock(), TICK), 0.1))
    elapsed = clock() - start
    drain_until = clock() + TIMEOUT + 1
    while gen.outstanding and clock() < drain_until:
        await asyncio.sleep(0.01)
        gen.expire()
    gen.close()
    if TRACE:
        Path(TRACE).write_text("".join(f"{at - start:.4f} {kind} {lat * 1000:.2f}\n" for at, kind, lat in gen.trace))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**summarize(gen.results, elapsed, gen.skipped, rate),
            "client_cpu_share": round((usage.ru_utime + usage.ru_stime) / elapsed, 2)}


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


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


if __name__ == "__main__":
    port, token, rate, secs, conns = sys.argv[1:6]
    print(json.dumps(uvloop.run(drive(int(port), token, float(rate) or None, float(secs), int(conns)))))
