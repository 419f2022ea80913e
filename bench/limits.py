"""The irreducible parts of a registration-day step, measured on this machine: what no code of ours can go below.

- one argon2id password hash (pupns.passwords, the platform's parameters);
- one nameko RPC round trip to a service that does nothing (EchoService below, started here) and, when a platform
  is running, to a platform service's `ping` (an RPC plus one store round trip);
- one raw pymongo insert (the event document, the events collection's indexes, the event store's durable write
  concern) and one raw point read, on the same SecantusDB;
- one append through pupns.eventstore.EventStore, to a new stream and to an existing one, with and without the
  head the caller read (aim: >= 80 % of the raw insert's throughput);
- a replay of N events through pupns.replay.rebuild with a trivial projector (aim: >= 50 % of a raw read of the
  same documents in position order), and again with 4 times as many events (the share must hold as the log grows);
- with a running edge, one HTTP round trip to its cheapest route (GET /healthz).
bench.journey calls `measure()` against its own running platform (same run, same store). Standalone
(`python -m bench.limits [--ops N] [--events N]`) it starts its own SecantusDB on disk (syncing every commit, as
`make run` does) and a private vhost, and writes bench/results/limits.{md,json,png}.
"""
from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nameko.rpc import rpc

from bench.password_hash import machine_facts
from bench.placement import broker_pids

CLIENTS = 8  # concurrent clients for the throughput figures (a service runs up to 10 workers)
AIM_APPEND_SHARE, AIM_REPLAY_SHARE = 0.8, 0.5
RESULTS = Path(__file__).resolve().parent / "results"


class EchoService:
    """A nameko service that does nothing: the floor of one RPC round trip (`nameko run bench.limits:EchoService`)."""

    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value


def latency(fn: Callable[[int], object], n: int, server: list[int] | None = None) -> dict:
    """Call fn(i) n times in a row: mean, p50 and p99 in ms, calls/s with one client and, given the server's
    process ids, the server's CPU-ms per call."""
    from bench.write_load import cpu_seconds

    times, cpu = [], cpu_seconds(server or [])
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    ordered = sorted(times)
    found = {"ms": round(1000 * statistics.fmean(times), 3), "p50_ms": round(1000 * ordered[n // 2], 3),
             "p99_ms": round(1000 * ordered[min(n - 1, int(0.99 * n))], 3), "per_s_1": round(n / sum(times), 1)}
    if server:
        found["server_cpu_ms"] = round(1000 * (cpu_seconds(server) - cpu) / n, 3)
    return found


def throughput(fn: Callable[[int], object], n: int, clients: int = CLIENTS) -> float:
    """Calls/s of fn(i) for i in range(n) spread over `clients` threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(fn, range(n)))
    return round(n / (time.perf_counter() - started), 1)


def event_doc(i: int, stream: str | None = None) -> dict:
    """A document shaped like a stored event (a section save: ~0.6 KiB of data)."""
    section = {"nama": f"Pegawai Uji {i}", "tempat_lahir": "Bandung", "tanggal_lahir": "1980-01-01",
               "jenis_kelamin": "L", "agama": "Islam", "nik": f"{3273010101800000 + i}", "alamat": "Jl. Uji " * 20,
               "no_hp": "081234567890", "email": f"uji{i}@contoh.go.id"}
    return {"_id": uuid.uuid4().hex, "stream": stream or f"form-{uuid.uuid4().hex}", "version": 1,
            "type": "SectionSaved", "schema_version": 1, "data": {"key": "data_utama", "value": section},
            "meta": {"actor": {"id": "bench", "role": "pns"}, "occurred_at": "2015-09-01T08:00:00.000+00:00"},
            "nip": f"19800101200501{i % 10000:04d}", "instansi_kode": "1010", "prev_hash": "0" * 64,
            "hash": "f" * 64, "position": i, "origin": "bench-raw"}


def measure_hash(rounds: int) -> dict:
    from pupns import passwords
    from pupns.cores import usable_cores

    return {"hash": latency(lambda i: passwords.hash_password(f"kata-sandi-{i}"), rounds),
            "cores": usable_cores()}


def measure_rpc(amqp_uri: str, n: int, workdir: Path, platform_service: str | None = None) -> dict:
    """Round trips to EchoService (started here, on the given broker vhost) and to a platform service's ping."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from pupns_dev.waiting import wait_until

    config = workdir / "echo-nameko.json"
    config.write_text(json.dumps({"AMQP_URI": amqp_uri, "max_workers": 10, "serializer": "json"}))
    log = open(workdir / "echo.log", "ab")
    echo = subprocess.Popen([str(Path(sys.executable).parent / "nameko"), "run", "--config", str(config),
                             "bench.limits:EchoService"], cwd=Path(__file__).resolve().parents[1],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    found: dict = {}
    try:
        from pupns import callers

        signed = {callers.CONTEXT_KEY: callers.token("bench", ttl=3600)}  # services refuse unsigned calls
        with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, context_data=signed, timeout=5) as proxy:
            def answers() -> bool:
                try:
                    return proxy.bench_echo.echo(1) == 1
                except Exception:  # not consuming yet: the request timed out or the queue is not there
                    return False
            wait_until(answers, timeout=60, interval=0.5, message="bench echo service answering")
            server = [echo.pid, *broker_pids()]  # the echo service and the RabbitMQ node
            found["rpc_echo"] = latency(lambda i: proxy.bench_echo.echo(i), n, server)
            upload = base64.b64encode(bytes(200 * 1024)).decode()  # an upload travels base64-encoded
            found["rpc_echo_200k"] = latency(lambda i: proxy.bench_echo.echo(upload), max(10, n // 10))
            if platform_service:
                service = getattr(proxy, platform_service)
                found["rpc_ping"] = latency(lambda i: service.ping(), n)
    finally:
        echo.terminate()
        echo.wait(30)
        log.close()
    return found


def measure_store(mongo_uri: str, n: int, events: int, server: list[int] | None = None) -> dict:
    """Raw insert/read beside EventStore appends and a replay, in a scratch database of the given store."""
    from pymongo import MongoClient

    from bench.replay_limit import measure_replay
    from pupns.eventstore import DURABLE, EventStore, NewEvent

    client = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"benchlimits_{uuid.uuid4().hex[:8]}"]
    try:
        store = EventStore(db, "bench")
        store.ensure_indexes()
        store.own_outbox("bench-limits")  # as a service process's store: its events carry its origin (pupns.outbox)
        raw = db.get_collection("raw_events", write_concern=DURABLE)
        for keys, unique in (([("stream", 1), ("version", 1)], True), ([("position", 1)], False),
                             ([("nip", 1), ("position", 1)], False)):
            raw.create_index(keys, unique=unique)
        raw.create_index([("published", 1), ("position", 1)], partialFilterExpression={"published": False})
        found = {"raw_insert": latency(lambda i: raw.insert_one(event_doc(i)), n, server)}
        found["raw_insert"]["per_s_n"] = throughput(lambda i: raw.insert_one(event_doc(n + i)), 2 * n)
        blob = bytes(200 * 1024)
        blobs = db.get_collection("raw_blobs", write_concern=DURABLE)
        found["raw_insert_200k"] = latency(lambda i: blobs.insert_one({"_id": uuid.uuid4().hex, "content": blob}),
                                           max(10, n // 10))
        ids = [d["_id"] for d in raw.find({}, {"_id": 1}).limit(n)]
        found["raw_read"] = latency(lambda i: raw.find_one({"_id": ids[i % len(ids)]}), n, server)
        found["raw_read"]["per_s_n"] = throughput(lambda i: raw.find_one({"_id": ids[i % len(ids)]}), 2 * n)

        def append_new(i: int) -> None:
            doc = event_doc(i)
            store.append(doc["stream"], 0, [NewEvent(doc["type"], doc["data"])], doc["meta"], nip=doc["nip"])

        mine = threading.local()

        def append_existing(i: int) -> None:  # each client its own stream: no conflicts, a head read each time
            if not hasattr(mine, "stream"):
                mine.stream, mine.version = f"bench-{uuid.uuid4().hex}", 0
            doc = event_doc(i, mine.stream)
            store.append(mine.stream, mine.version, [NewEvent(doc["type"], doc["data"])], doc["meta"],
                         nip=doc["nip"])
            mine.version += 1

        known = threading.local()

        def append_known(i: int) -> None:  # as a command handler appends: it read the stream, it knows the head
            if not hasattr(known, "head"):
                known.stream, known.head = f"bench-{uuid.uuid4().hex}", None
            doc, head = event_doc(i, known.stream), known.head
            known.head = store.append(known.stream, head["version"] if head else 0,
                                      [NewEvent(doc["type"], doc["data"])], doc["meta"], nip=doc["nip"],
                                      head_hash=head and head["hash"], head_position=head and head["position"])[-1]

        found["append_new"] = latency(append_new, n, server)
        found["append_new"]["per_s_n"] = throughput(lambda i: append_new(n + i), 2 * n)
        found["append_existing"] = latency(append_existing, n, server)
        found["append_existing"]["per_s_n"] = throughput(append_existing, 2 * n)
        found["append_known"] = latency(append_known, n, server)
        found["append_known"]["per_s_n"] = throughput(append_known, 2 * n)
        found.update(measure_replay(store, events))
    finally:
        client.drop_database(db.name)
        client.close()
    return found


def measure_http(url: str, n: int, server: list[int] | None = None) -> dict:
    import requests

    with requests.Session() as session:
        return {"http_floor": latency(lambda i: session.get(url, timeout=10).raise_for_status(), n, server)}


def verdicts(found: dict) -> dict:
    """The issue's two aims, as shares of the raw figures (8 concurrent clients)."""
    raw = found["raw_insert"]["per_s_n"]
    return {"append_new_share_of_raw_insert": round(found["append_new"]["per_s_n"] / raw, 3),
            "append_existing_share_of_raw_insert": round(found["append_existing"]["per_s_n"] / raw, 3),
            **({"append_known_share_of_raw_insert": round(found["append_known"]["per_s_n"] / raw, 3)}
               if "append_known" in found else {}),
            "replay_share_of_raw_read": round(found["replay"]["per_s"] / found["raw_scan"]["per_s"], 3),
            **({"replay_share_of_raw_read_largest": found["replay_sizes"][-1]["share"]}
               if "replay_sizes" in found else {}),
            "aim_append_share": AIM_APPEND_SHARE, "aim_replay_share": AIM_REPLAY_SHARE}


def measure(mongo_uri: str, amqp_uri: str, *, edge_url: str | None = None, platform_service: str | None = None,
            store_pids: list[int] | None = None, edge_pids: list[int] | None = None, ops: int = 300,
            events: int = 5000, hash_rounds: int = 20, progress=print) -> dict:
    """Every limit; `edge_url` and `platform_service` only with a running platform; the store's and the edge's
    process ids to measure their CPU per call."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    progress("limits: password hash...")
    found = measure_hash(hash_rounds)
    progress("limits: RPC round trips...")
    found.update(measure_rpc(amqp_uri, ops, workdir, platform_service))
    progress("limits: raw store, event store, replay...")
    found.update(measure_store(mongo_uri, ops, events, store_pids))
    if edge_url:
        found.update(measure_http(f"{edge_url}/healthz", ops, edge_pids))
    found["verdicts"] = verdicts(found)
    return found


def limits_table(limits: dict) -> list[str]:
    from bench.replay_limit import replay_lines

    rows = ["| part | ms (mean) | p50 ms | p99 ms | per s, 1 client | per s, 8 clients | server CPU-ms per call |",
            "|---|---|---|---|---|---|---|"]
    for key in ("hash", "http_floor", "rpc_echo", "rpc_echo_200k", "rpc_ping", "raw_insert", "raw_insert_200k",
                "raw_read", "append_new", "append_existing", "append_known"):
        if key in limits:
            v = limits[key]
            rows.append(f"| {key} | {v['ms']} | {v['p50_ms']} | {v['p99_ms']} | {v['per_s_1']} | "
                        f"{v.get('per_s_n', '-')} | {v.get('server_cpu_ms', '-')} |")
    v = limits["verdicts"]
    rows += ["", "Server CPU: the store's for store operations, the echo service's and the RabbitMQ node's for "
             "rpc_echo, the edge's for http_floor (a hash is single-threaded: its time is its CPU).",
             "", *replay_lines(limits),
             "", f"- append to a new stream: {100 * v['append_new_share_of_raw_insert']:.0f} % of the raw insert's "
             f"throughput (8 clients; aim >= {100 * v['aim_append_share']:.0f} %)",
             f"- append to an existing stream: {100 * v['append_existing_share_of_raw_insert']:.0f} % (same aim; "
             "the store reads the event it follows)",
             *([f"- append to an existing stream whose head the caller read (as every command handler does): "
                f"{100 * v['append_known_share_of_raw_insert']:.0f} %"] if "append_known_share_of_raw_insert" in v
               else []),
             f"- replay: {100 * v['replay_share_of_raw_read']:.0f} % of the raw read "
             f"(aim >= {100 * v['aim_replay_share']:.0f} %)"
             + (f"; {100 * v['replay_share_of_raw_read_largest']:.0f} % with {limits['replay_sizes'][-1]['events']}"
                " events" if "replay_share_of_raw_read_largest" in v else ""),
             f"- hash: {limits['cores']} usable cores"]
    return rows


def write_limits(limits: dict, setting: str) -> None:
    """bench/results/limits.{md,json} for a standalone bench.limits run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "limits.json").write_text(json.dumps({"setting": setting, **limits}, indent=1))
    text = "\n".join(["# Limits: the irreducible parts of a step", "", machine_facts(), f"Setting: {setting}.", "",
                      *limits_table(limits)]) + "\n"
    (RESULTS / "limits.md").write_text(text)
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Standalone: a private SecantusDB on disk and a private vhost; writes bench/results/limits.*."""
    from pupns_dev.processes import free_port, start_secantus, stop
    from pupns_dev.stack import StackConfig, delete_vhost, ensure_vhost, local_mongo_uri

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="bench-limits-store-"))
    port, cfg = free_port(), StackConfig(var=var, vhost=f"limits-{uuid.uuid4().hex[:8]}")
    ensure_vhost(cfg.vhost)
    store = start_secantus(port, str(var / "data"), var / "secantus.log")
    try:
        found = measure(local_mongo_uri(port), cfg.amqp_uri, store_pids=[store.pid], ops=args.ops,
                        events=args.events)
    finally:
        stop(store)
        delete_vhost(cfg.vhost)
    write_limits(found, "standalone: a private SecantusDB on disk (sync on commit), the shared RabbitMQ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
