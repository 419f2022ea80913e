"""What the paged hash-chain check costs (the audit job behind GET /api/v1/admin/audit/verify), beside one pass.

One service's log on a SecantusDB of its own (in memory, nothing else running) grows to each size in SIZES (streams
of four events, sequenced as the services' sequencer numbers them). At each size, in the same run: the whole check
in one pass (`pupns.integrity.verify_chains`, what the API did in one call under its 5 s deadline until 2026-12-05)
and the same check in the bounded pages the audit job asks for (`verify_chains_page`, ~5,000 events or ~2 s each):
total time, pages, the longest page (what one RPC waits) and the ratio of the two. Writes
bench/results/audit_pages.{md,json}. Usage: python -m bench.audit_pages (~4 min).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (20_000, 100_000)  # events in the log when it is checked
STREAMS_PER_APPEND = 250  # x 4 events: one transaction of 1,000 events


def grow(store, have: int, want: int) -> int:
    """Append streams of four events until the log holds `want`; sequence them; returns the new size."""
    from pupns import sequence
    from pupns.eventstore import NewEvent, StreamAppend

    while have < want:
        store.append_many([StreamAppend(f"bench-{have + 4 * i:09d}", 0, [NewEvent("BenchFiled", {"n": k})
                                                                        for k in range(4)])
                           for i in range(STREAMS_PER_APPEND)], {"actor": "bench", "role": "system"})
        have += 4 * STREAMS_PER_APPEND
    sequencer = sequence.Sequencer(store)
    while sequencer.run_once():
        pass
    return have


def check_both_ways(store) -> dict:
    """The whole check in one pass, then in pages: seconds, events and what each found."""
    from pupns.integrity import verify_chains, verify_chains_page

    started = time.perf_counter()
    whole = verify_chains(store)
    one_pass = time.perf_counter() - started
    cursor, page_times, events, broken = None, [], 0, 0
    started = time.perf_counter()
    while True:
        begun = time.perf_counter()
        page = verify_chains_page(store, cursor)
        page_times.append(time.perf_counter() - begun)
        events, broken = events + page["events_checked"], broken + len(page["broken"])
        if page["done"]:
            break
        cursor = page["cursor"]
    paged = time.perf_counter() - started
    return {"events": whole["events_checked"], "one_pass_s": round(one_pass, 2), "paged_s": round(paged, 2),
            "pages": len(page_times), "longest_page_s": round(max(page_times), 2),
            "paged_over_one_pass": round(paged / one_pass, 2), "paged_events": events,
            "broken_one_pass": len(whole["broken"]), "broken_paged": broken}


def report(rows: list[dict], machine: str) -> str:
    lines = [f"# The paged hash-chain check against one pass — {datetime.now(UTC).isoformat(timespec='seconds')}",
             "", machine, "One service's log on a SecantusDB of its own (in memory, nothing else running); streams "
             "of four events, sequenced.", "",
             "| events | one pass | in pages | pages | longest page | pages / one pass | broken found (one pass / "
             "pages) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['events']:,} | {r['one_pass_s']} s | {r['paged_s']} s | {r['pages']} | {r['longest_page_s']} s "
              f"| {r['paged_over_one_pass']} | {r['broken_one_pass']} / {r['broken_paged']} |" for r in rows]
    lines += ["", "One pass is what `GET /api/v1/admin/audit/verify` asked each service for, in one RPC under the "
              "edge's 5 s deadline, until 2026-12-05: past the size where it exceeds 5 s the API answered 503. The "
              "audit job asks for pages instead: the longest page is what one RPC waits, whatever the log's size."]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Grow a log through SIZES, check it both ways at each size; write the report."""
    from pymongo import MongoClient

    from bench.password_hash import machine_facts
    from pupns.eventstore import EventStore
    from pupns_dev.processes import free_port
    from pupns_dev.waiting import wait_until

    port = free_port()
    store_process = subprocess.Popen([sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
                                      "--storage-path", ":memory:", "--log-level", "WARNING"])
    rows, have = [], 0
    try:
        client = MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", tz_aware=True)
        wait_until(lambda: client.admin.command("ping"), timeout=30, interval=0.2, message="the store answers")
        store = EventStore(client["bench_audit_forms"], "forms")
        store.ensure_indexes()
        for size in SIZES:
            have = grow(store, have, size)
            rows.append(check_both_ways(store))
            print(rows[-1], flush=True)
    finally:
        store_process.terminate()
        store_process.wait(10)
    machine = machine_facts()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit_pages.md").write_text(report(rows, machine), encoding="utf-8")
    (RESULTS / "audit_pages.json").write_text(json.dumps(
        {"machine": machine, **{f"events_{r['events']}": {k: v for k, v in r.items() if k != "events"}
                                for r in rows}}, indent=1), encoding="utf-8")
    print(report(rows, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
