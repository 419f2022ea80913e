"""What the platform's pollers cost the store while nobody uses it (issue 15 items 3 and 9), before and after.

Two platforms are started one after the other in the same run (in-memory SecantusDB, one replica of everything,
a small demo roster and an open campaign), identical but for PUPNS_POLL_BACKOFF: `0` restores the old fixed
poll intervals, `1` (the default) lets idle pollers back off and deadline checks wait until they are due. After a
settle period, every pupns_* database is profiled (`profile` level 2) for a quiet window and `system.profile` is
read back: store operations per second by database.collection and op. serverStatus opcounters are taken beside
it as a cross-check. Writes bench/results/idle_store.{md,json}. Usage: python -m bench.idle_store [seconds] (~2 min).
"""
from __future__ import annotations

import json
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SETTLE_SECONDS = 6.0  # after seeding: the roster job's and the campaign's aftermath (relay, consumers) ends
MODES = {"old": "0", "new": "1"}  # PUPNS_POLL_BACKOFF
OPCOUNTERS = ("query", "insert", "update", "delete", "getmore", "command")
RELAY = "relay (outbox scan, not changed here)"


def profile_window(mongo_uri: str, seconds: float) -> dict:
    """Profile every pupns_* database for `seconds`; operations per second by namespace and op, and opcounters."""
    from pymongo import MongoClient

    with MongoClient(mongo_uri, tz_aware=True) as client:
        names = [name for name in client.list_database_names() if name.startswith("pupns_")]
        for name in names:
            client[name].command("profile", 2, slowms=0)
        before = client.admin.command("serverStatus").get("opcounters", {})
        started = datetime.now(UTC)
        time.sleep(seconds)  # the measured quiet: nothing else to wait for
        ended = datetime.now(UTC)
        after = client.admin.command("serverStatus").get("opcounters", {})
        for name in names:
            client[name].command("profile", 0)
        counts: Counter[str] = Counter()
        for name in names:
            for entry in client[name]["system.profile"].find({"ts": {"$gte": started, "$lt": ended}},
                                                             {"ns": 1, "op": 1, "command": 1}):
                counts[label(entry)] += 1
    window = (ended - started).total_seconds()
    by_op = {key: round(n / window, 2) for key, n in counts.most_common()}
    opcounters = {key: round((after.get(key, 0) - before.get(key, 0)) / window, 2) for key in OPCOUNTERS}
    return {"window_s": round(window, 1), "databases": names, "ops_per_s": round(sum(counts.values()) / window, 2),
            "by_namespace_op": by_op, "opcounters_per_s": opcounters,
            "opcounters_total_per_s": round(sum(opcounters.values()), 2)}


def label(entry: dict) -> str:
    """"db.collection op" of one profile entry (findAndModify and aggregate named, not just "command")."""
    op, command = entry.get("op", "?"), entry.get("command") or {}
    name = next(iter(command), "") if op == "command" else ""
    return f"{entry.get('ns', '?')} {op}{':' + name if name else ''}"


def is_relay(key: str) -> bool:
    """The outbox relay's idle scan (`events` of each service), which this change leaves alone."""
    return key.split(" ")[0].endswith(".events")


def measure(mode: str, seconds: float) -> dict:
    """One platform with PUPNS_POLL_BACKOFF for `mode`, seeded, settled, then profiled while idle."""
    from pupns_dev.demo import seed_demo
    from pupns_dev.processes import free_port
    from pupns_dev.stack import Stack, StackConfig, delete_vhost

    var = Path(tempfile.mkdtemp(prefix=f"idle-{mode}-"))
    cfg = StackConfig(var=var, vhost=f"bench-{uuid.uuid4().hex[:8]}", mongo_port=free_port(), smtp_port=free_port(),
                      edge_port=free_port(), console_port=free_port(), meterai_port=free_port(), storage=":memory:",
                      jwt_keys=f"b:{secrets.token_urlsafe(32)}", admin_password=secrets.token_urlsafe(12),
                      extra_env={"PUPNS_POLL_BACKOFF": MODES[mode]})
    stack = Stack(cfg)
    started = time.monotonic()
    stack.start(progress=lambda m: None)
    try:
        seed_demo(cfg, roster_size=20, seed=3, progress=lambda m: None)
        time.sleep(SETTLE_SECONDS)  # a settle period before the window, not a synchronisation
        result = profile_window(cfg.mongo_uri, seconds)
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)
    relay = sum(v for k, v in result["by_namespace_op"].items() if is_relay(k))
    result.update(relay_ops_per_s=round(relay, 2), pollers_ops_per_s=round(result["ops_per_s"] - relay, 2),
                  run_s=round(time.monotonic() - started, 1))
    print(f"[idle_store] {mode}: {result['ops_per_s']} store ops/s ({result['pollers_ops_per_s']} pollers, "
          f"{relay:.2f} relay)", flush=True)
    return result


def report(measured: dict, seconds: float, started: float) -> list[str]:
    old, new = measured["old"], measured["new"]
    machine = f"{platform.node()} · {platform.processor() or platform.machine()}"
    lines = ["# Store operations of the idle platform, old fixed poll intervals beside backoff", "",
             f"Machine: {machine}. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}: two platforms "
             "one after the other (in-memory SecantusDB, one replica of each process, a 20-row demo roster and an "
             f"open campaign), identical but for PUPNS_POLL_BACKOFF (0 = old, 1 = new), each profiled for "
             f"{seconds:.0f} s of idleness (`profile` level 2 on every pupns_* database, read from "
             "`system.profile`).", "",
             "| | old | new | cut |", "|---|---|---|---|"]
    for key, name in (("ops_per_s", "all store operations/s"), ("pollers_ops_per_s", "without the relay's scan"),
                      ("relay_ops_per_s", RELAY), ("opcounters_total_per_s", "serverStatus opcounters/s")):
        cut = f"{old[key] / new[key]:.1f}x" if new[key] else "all"
        lines.append(f"| {name} | {old[key]} | {new[key]} | {cut} |")
    lines += ["", "Per database.collection and op (operations/s):", "", "| namespace op | old | new |",
              "|---|---|---|"]
    for key in sorted(set(old["by_namespace_op"]) | set(new["by_namespace_op"]),
                      key=lambda k: -old["by_namespace_op"].get(k, 0)):
        lines.append(f"| {key} | {old['by_namespace_op'].get(key, 0)} | {new['by_namespace_op'].get(key, 0)} |")
    return lines + ["", *NOTES]


NOTES = (
    "What the new behaviour does (PUPNS_POLL_BACKOFF=1, the default):",
    "",
    "- edge: a rate window is flushed and read only in windows in which the process let something through; an "
    "unchanged part of the waiting line is published every 5 s (to stay live), and the other parts are read only "
    "while there were newcomers in the last 10 s or a line is known (the first newcomer after that reads them "
    "itself);",
    "- identity: the campaign is cached and the close and reminder checks run only when one of its moments has "
    "passed or it changed (read again every 10 s for other replicas' changes); the job runner backs off from "
    "0.5 s to 4 s and is woken at once by a job created in its process;",
    "- notifications and documents: the retry loops back off from their interval (2 s) to 8 s while passes find "
    "nothing.",
    "",
    "Not changed here: each service's outbox relay scan of `events` (the lead's work), and the MongoDB drivers' "
    "own server monitoring (`hello`), which the profiler does not record but serverStatus counts as "
    "commands: the difference between the two totals.",
)


def main(seconds: float = 20.0) -> None:
    if len(sys.argv) > 1:
        seconds = float(sys.argv[1])
    started = time.time()
    measured = {mode: measure(mode, seconds) for mode in MODES}
    old, new = measured["old"], measured["new"]
    summary = {"old_ops_per_s": old["ops_per_s"], "new_ops_per_s": new["ops_per_s"],
               "old_pollers_ops_per_s": old["pollers_ops_per_s"], "new_pollers_ops_per_s": new["pollers_ops_per_s"],
               "cut_x": round(old["ops_per_s"] / max(new["ops_per_s"], 0.01), 1),
               "pollers_cut_x": round(old["pollers_ops_per_s"] / max(new["pollers_ops_per_s"], 0.01), 1),
               "detail": {mode: {**result, "by_namespace_op": list(result["by_namespace_op"].items())}
                          for mode, result in measured.items()}}  # pairs: the summary chart shows totals only
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "idle_store.json").write_text(json.dumps(summary, indent=2))
    (RESULTS / "idle_store.md").write_text("\n".join(report(measured, seconds, started)) + "\n")
    print(f"[idle_store] idle store ops/s {old['ops_per_s']} -> {new['ops_per_s']} ({summary['cut_x']}x); "
          f"written to {RESULTS}/idle_store.md", flush=True)


if __name__ == "__main__":
    main()
