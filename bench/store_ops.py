"""What one registration asks of the store: operations and server time per collection (the store's `top`).

Starts the platform as `make run` does (a store process per service), registers N never-seen PNS one after
another, waits until every registration's e-mail has gone out (the last consumer), then reads every store's
per-collection counters (`top`: time and count of inserts, queries, updates, removes, commands) and divides by N.
Idle background work (pollers, leases) over the same wall time, measured right after, is subtracted, so what is
left is what a registration costs. Prints the table; `--write` also keeps it in bench/results/store_ops.md.
Usage: python -m bench.store_ops [registrations] [--write]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pymongo
import requests

from bench.password_hash import machine_facts
from bench.writeload import PASSWORD

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("insert", "queries", "getmore", "update", "remove", "commands")


def top(client: pymongo.MongoClient) -> dict[str, dict[str, tuple[int, int]]]:
    """Per collection, per kind: (count, microseconds) so far."""
    totals = client.admin.command("top")["totals"]
    return {ns: {kind: (row[kind]["count"], row[kind]["time"]) for kind in KINDS}
            for ns, row in totals.items() if isinstance(row, dict)}


def store_clients(cfg) -> list[pymongo.MongoClient]:
    """A client of every store process of a stack (one per service under `make run`, and the key store's)."""
    from pupns_dev.stack import local_mongo_uri

    return [pymongo.MongoClient(local_mongo_uri(port), serverSelectionTimeoutMS=5000) for port in cfg.stores().values()]


def top_of_all(clients: list[pymongo.MongoClient]) -> dict[str, dict[str, tuple[int, int]]]:
    """`top` of every store process (their namespaces do not overlap: each holds its own databases)."""
    return {ns: kinds for client in clients for ns, kinds in top(client).items()}


def delta(before: dict, after: dict, per: float) -> dict[str, dict[str, tuple[float, float]]]:
    """(count, ms) per unit of `per`, per collection and kind, for what changed between two `top` readings."""
    found = {}
    for ns, kinds in after.items():
        row = {}
        for kind, (count, micros) in kinds.items():
            c0, t0 = before.get(ns, {}).get(kind, (0, 0))
            if count - c0:
                row[kind] = ((count - c0) / per, (micros - t0) / 1000 / per)
        if row:
            found[ns] = row
    return found


def mails(maildir: Path) -> int:
    return sum(1 for p in maildir.rglob("*") if p.is_file()) if maildir.exists() else 0


def render(per_reg: dict, idle: dict, n: int, seconds: float, machine: str) -> str:
    lines = [f"# Store operations per registration ({n} registrations, one at a time)", "",
             f"Machine: {machine}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`python -m bench.store_ops`. Idle background work over the same wall time is subtracted "
             f"({seconds:.0f} s).", "",
             "| collection | ops / registration | store ms / registration | by kind (count, ms) |",
             "|---|---:|---:|---|"]
    rows = []
    for ns, kinds in per_reg.items():
        idle_kinds = idle.get(ns, {})
        net = {k: (c - idle_kinds.get(k, (0, 0))[0], t - idle_kinds.get(k, (0, 0))[1]) for k, (c, t) in kinds.items()}
        rows.append((ns, sum(c for c, _ in net.values()), sum(t for _, t in net.values()), net))
    rows.sort(key=lambda r: -r[2])
    for ns, count, ms, net in rows:
        if count < 0.05:
            continue
        kinds = ", ".join(f"{k} {c:.1f} ({t:.2f})" for k, (c, t) in net.items() if c >= 0.05)
        lines.append(f"| `{ns}` | {count:.1f} | {ms:.2f} | {kinds} |")
    lines += ["", f"Total: {sum(r[1] for r in rows):.1f} operations, {sum(r[2] for r in rows):.1f} store ms per "
              "registration (the store's own clock per operation; a transaction's commit is counted under "
              "`commands` of the collection it names, or not at all)."]
    return "\n".join(lines) + "\n"


def main(n: int = 60) -> None:
    from bench.journey import running_platform
    from pupns_dev.waiting import wait_until

    with running_platform(n + 50) as (stack, _var, roster, _journeys, _admin):
        cfg = stack.cfg
        clients = store_clients(cfg)
        api = cfg.edge_url + "/api/v1"
        sent = mails(cfg.maildir)
        started = time.monotonic()
        before = top_of_all(clients)
        for row in roster[:n]:
            payload = {"nip": row["nip"], "nik": row["nik"], "email": f"{row['nip']}@contoh.go.id",
                       "password": PASSWORD}
            requests.post(f"{api}/registrations", json=payload, timeout=60).raise_for_status()
        wait_until(lambda: mails(cfg.maildir) >= sent + n, timeout=120, interval=0.2, message="every e-mail sent")
        seconds = time.monotonic() - started
        per_reg = delta(before, top_of_all(clients), n)
        idle_before = top_of_all(clients)
        time.sleep(seconds)  # the same wall time with nothing to do: what the pollers cost by themselves
        idle = delta(idle_before, top_of_all(clients), n)
    text = render(per_reg, idle, n, seconds, machine_facts())
    print(text)
    if "--write" in sys.argv:
        (RESULTS / "store_ops.md").write_text(text)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 60)
