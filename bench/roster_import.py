"""Roster import throughput: generate N rows, import them into identity on a private SecantusDB."""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pymongo import MongoClient

from bench.password_hash import append_result
from pupns.eventstore import EventStore
from pupns.personal import FieldCodec, KeyStore
from pupns.personal.master import MasterKeys
from pupns.roster_upload import roster_chunks
from pupns_cli.generate import roster_csv
from pupns_cli.rpc import Progress
from pupns_dev.processes import free_port, start_secantus, stop
from pupns_dev.stack import local_mongo_uri

ADMIN = {"id": "bench", "role": "admin", "instansi_kode": None}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows: int, chunk: int, storage: str) -> str:
    from identity.adapters import Deps
    from identity.adapters.projections import Projector
    from identity.commands.roster import import_roster

    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-secantus-{port}.log"
    proc = start_secantus(port, storage, log)
    client = MongoClient(local_mongo_uri(port), tz_aware=True)
    try:
        store = EventStore(client[f"bench{uuid.uuid4().hex[:6]}_identity"], "identity")
        store.ensure_indexes()
        Projector.ensure_indexes(store.db)
        # the PNS's data keys in the same private store (the roster copy's personal columns are sealed with them)
        keys = KeyStore(client[f"{store.db.name}_keys"], MasterKeys.from_env())
        keys.ensure_indexes()
        deps = Deps.of(store, codec=FieldCodec(keys))
        started = time.perf_counter()
        text = roster_csv(rows, seed=2015)
        generated = time.perf_counter() - started
        progress = Progress("import", rows)
        done = imported = 0
        started = time.perf_counter()
        for part, _, count in roster_chunks(text, chunk):
            imported += import_roster(deps, part, ADMIN)["imported"]
            done += count
            progress(done)
        progress.finish()
        first = time.perf_counter() - started
        started = time.perf_counter()
        unchanged = sum(import_roster(deps, part, ADMIN)["unchanged"] for part, _, _ in roster_chunks(text, chunk))
        again = time.perf_counter() - started
    finally:
        client.close()
        stop(proc)
    return (f"| rows | generate s | import s | rows/s | re-import s (unchanged) | peak RSS MiB |\n"
            f"|---|---|---|---|---|---|\n"
            f"| {rows} ({imported} imported) | {generated:.1f} | {first:.1f} | {rows / first:,.0f} | "
            f"{again:.1f} ({unchanged}) | {peak_rss_mib():.0f} |\n\nSecantusDB storage: {storage}; "
            f"chunk {chunk} rows; application function called in-process (no RPC hop).\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--storage", default=":memory:", help="SecantusDB storage path or :memory:")
    args = parser.parse_args(argv)
    body = run(args.rows, args.chunk, args.storage)
    print(body)
    print(f"appended to {append_result('roster_import', body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
