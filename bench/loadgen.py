"""The edge bench's load generator: asyncio, raw keep-alive HTTP/1.1 connections, closed or open loop.

Runs in its own process (`python -m bench.loadgen PORT TOKEN RATE SECONDS CONNS` prints one JSON line), so
its CPU can be measured and placed apart from the platform's. It ignores Retry-After on purpose: the
harshest surge is clients that ask again at once.
"""
from __future__ import annotations

import asyncio
import json
import resource
import sys


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
        while conn is not None and conn.transport is None:  # the server closed it while idle
            open_conns[0] -= 1
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


if __name__ == "__main__":
    port, token, rate, secs, conns = sys.argv[1:6]
    print(json.dumps(asyncio.run(drive(int(port), token, float(rate) or None, float(secs), int(conns)))))
