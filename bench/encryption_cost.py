"""What sealing personal fields costs (issue 13 item 6): registration and section save with encryption on and off.

Two platforms are started one after the other in the same run on the same machine, identical but for
PUPNS_ENCRYPTION (development only: `off` makes sealing a no-op, reading still opens tokens). Each measures the
registration of never-seen PNS and the save of `data_utama` (five personal fields) at capacity: closed loops of 4
clients with admission control out of the way, twice each, alternating, plus the CPU every component spent per
operation. Aim: encryption on is under 10 % slower. Writes bench/results/encryption_cost.{md,json}.
Usage: python -m bench.encryption_cost [seconds-per-phase] (~6 min).
"""
from __future__ import annotations

import json
import platform
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.edge_load import Bench
from bench.write_load import WriteBench, free_port_run
from pupns.cores import usable_cores

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("register", "save")
ROUNDS = 2
CLIENTS = 4


def measure(encryption: str, seconds: float) -> dict[str, list[dict]]:
    """One platform with PUPNS_ENCRYPTION=`encryption`: ROUNDS capacity phases per path."""
    from pupns_dev.demo import seed_demo
    from pupns_dev.processes import free_port
    from pupns_dev.stack import Stack, StackConfig, delete_vhost

    var = Path(tempfile.mkdtemp(prefix=f"enc-{encryption}-"))
    cfg = StackConfig(var=var, vhost=f"bench-{uuid.uuid4().hex[:8]}", mongo_port=free_port(), smtp_port=free_port(),
                      edge_port=free_port(), console_port=free_port(), meterai_port=free_port(),
                      storage=str(var / "data"), jwt_keys=f"b:{secrets.token_urlsafe(32)}",
                      admin_password=secrets.token_urlsafe(12), metrics_port_base=free_port_run(5),
                      extra_env={"PUPNS_EDGE_USER_RATE": "1000000", "PUPNS_EDGE_USER_BURST": "1000000",
                                 "PUPNS_EDGE_LOGIN_RATE": "1000", "PUPNS_EDGE_LOGIN_BURST": "1000000",
                                 "PUPNS_ENCRYPTION": encryption})
    stack = Stack(cfg)
    stack.start(progress=lambda m: None)
    try:
        demo = seed_demo(cfg, roster_size=3000, seed=13, progress=lambda m: None)
        bench = Bench(stack, "-", {})
        run = WriteBench(stack, demo, var, bench)
        run.prepare_accounts()
        bench.restart_edge("2", "8", "shared", adaptive=False)
        phases: dict[str, list[dict]] = {kind: [] for kind in KINDS}
        for round_ in range(ROUNDS):
            for kind in KINDS:
                phases[kind].append(run.phase(kind, None, seconds, CLIENTS,
                                              f"{kind}: encryption {encryption}, round {round_ + 1}"))
        return phases
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)


def summary(phases: list[dict]) -> dict:
    """Mean goodput, p50/p99 and CPU-ms per operation (all components) over a path's rounds."""
    count = len(phases)
    return {"goodput_rps": round(sum(p["goodput_rps"] for p in phases) / count, 2),
            "p50_ms": round(sum(p.get("ok_p50_ms") or 0 for p in phases) / count, 1),
            "p99_ms": round(sum(p.get("ok_p99_ms") or 0 for p in phases) / count, 1),
            "cpu_ms_per_op": round(sum(sum(p["cpu_ms_per_op"].values()) for p in phases) / count, 1)}


def main(seconds: float = 12.0) -> None:
    started = time.time()
    measured = {encryption: measure(encryption, seconds) for encryption in ("on", "off")}
    table = {kind: {enc: summary(measured[enc][kind]) for enc in measured} for kind in KINDS}
    for kind in KINDS:
        on, off = table[kind]["on"], table[kind]["off"]
        table[kind]["slower_pct"] = round(100 * (1 - on["goodput_rps"] / off["goodput_rps"]), 1)
        table[kind]["cpu_more_pct"] = round(100 * (on["cpu_ms_per_op"] / off["cpu_ms_per_op"] - 1), 1)
    machine = f"{platform.node()} · {platform.processor() or platform.machine()} · {usable_cores()} usable cores"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encryption_cost.json").write_text(json.dumps(
        {kind: {"slower_pct": t["slower_pct"], "cpu_more_pct": t["cpu_more_pct"],
                "rps_on": t["on"]["goodput_rps"], "rps_off": t["off"]["goodput_rps"]} for kind, t in table.items()},
        indent=2))
    lines = ["# Encryption of personal fields: what it costs", "",
             f"Machine: {machine}. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
             f"{ROUNDS} rounds of {seconds:.0f} s per path and setting, closed loop of {CLIENTS} clients, admission "
             "control out of the way, two platforms started one after the other in the same run (identical but "
             "for PUPNS_ENCRYPTION). Aim: under 10 % slower.", "",
             "| path | setting | 2xx/s | p50 ms | p99 ms | CPU ms/op (all components) |", "|---|---|---|---|---|---|"]
    for kind in KINDS:
        for enc in ("off", "on"):
            row = table[kind][enc]
            lines.append(f"| {kind} | encryption {enc} | {row['goodput_rps']} | {row['p50_ms']} | {row['p99_ms']} | "
                         f"{row['cpu_ms_per_op']} |")
    lines += ["", *(f"- **{kind}**: {table[kind]['slower_pct']} % fewer answers per second with encryption, "
                    f"{table[kind]['cpu_more_pct']} % more CPU per operation." for kind in KINDS),
              "", "Per phase (CPU ms per operation by component):", "", "```"]
    for enc in ("off", "on"):
        for kind in KINDS:
            for p in measured[enc][kind]:
                lines.append(f"{p['phase']}: {p['goodput_rps']} 2xx/s, cpu {p['cpu_ms_per_op']}")
    lines.append("```")
    (RESULTS / "encryption_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 12.0)
