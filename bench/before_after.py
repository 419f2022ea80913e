"""Before/after in one run: the platform's code at a base commit against this tree's, same machine, back to back.

Issue 15 item 3 asks for the biggest overhead found (store operations per journey, idle polling) to be cut and shown
before and after in one run. No switch in the platform's code brings the old behaviour back: the base commit's
services run instead (a `git worktree` of it, put first on the services' PYTHONPATH), driven by this tree's
client, stack and measurements, so both sides are measured the same way. Per side:
- the idle platform's store operations/s and cores (timers, relays, pollers);
- registrations of never-seen PNS, closed loop of 4 clients (admission control out of the way): registrations/s,
  CPU-ms per registration of each component, store operations per registration, beside the hashing limit;
- whole journeys (bench.journey) open loop at `--rate`: completed journeys, CPU-ms and store operations per journey.
With `--rounds N` each side runs N times, in the order before, after, after, before, ... (ABBA): this VM's speed
drifts by 10-20 % within minutes, and a drift that is linear over the run then weighs on both sides alike; each
figure is the mean of its side's runs. Writes bench/results/before_after.{md,json,png}. Usage: python -m
bench.before_after [--base REV] [--rate 1] [--seconds 60] [--rounds 1] [--name before_after] (about 2 x rounds x
(1 min set-up + seconds/3 + seconds + 1 min drain)).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import journey, journey_report
from bench.edge_load import EDGE_LIMIT_VARS
from bench.password_hash import all_cores_hash_ms, hashing_limit_per_s, machine_facts
from pupns.cores import usable_cores

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The last commit before this session's cuts of store operations and idle polling.
DEFAULT_BASE = "be9018c"
REGISTRATIONS_PER_S_CEILING = 40  # more fresh rows than the closed loop can register: none is tried twice


@contextlib.contextmanager
def edge_pinned(stack, capacity: int = 64) -> Iterator[None]:
    """The edge restarted with its admission limit pinned at `capacity` (min = max = initial), then restarted as
    it was. The adaptive limit lowers itself under a closed loop's bursts, and a client of a closed loop that is
    turned away asks again at once: one 10 s run had the after side's 4 clients turned away 14,903 times in 3 s,
    which charged the edge's turn-aways to "CPU per registration" (bench.write_load pins it the same way)."""
    env = stack.cfg.extra_env
    kept = {name: env.get(name) for name in EDGE_LIMIT_VARS}
    env.update({name: str(capacity) for name in EDGE_LIMIT_VARS})
    stack.restart("edge")
    try:
        yield
    finally:
        for name, value in kept.items():
            env.pop(name, None)
            if value is not None:
                env[name] = value
        stack.restart("edge")


def register_capacity(stack, rows: list[dict], seconds: float, idle: dict, conns: int = 4) -> dict:
    """Closed-loop registrations of fresh roster rows: registrations/s, CPU-ms and store operations per one."""
    path = stack.cfg.var / "input-register-capacity.json"
    path.write_text(json.dumps({"rows": [[row["nip"], row["nik"]] for row in rows]}))
    parts = journey.components(stack)
    ops_before, before, started = journey.store_counters(stack), journey.cpu_snapshot(parts), time.monotonic()
    argv = [sys.executable, "-m", "bench.writeload", str(stack.cfg.edge_port), "register", "0", str(seconds),
            str(conns), str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=True, cwd=ROOT)
    window = time.monotonic() - started
    result = json.loads(out.stdout.strip().splitlines()[-1])
    done = max(1, int(result.get("counts", {}).get("201", 0)))
    cpu = journey_report.cpu_per_journey(before, journey.cpu_snapshot(parts), idle, window, done)
    ops_after = journey.store_counters(stack)
    ops = round(sum(ops_after[k] - ops_before.get(k, 0) for k in ("insert", "query", "update", "delete", "getmore",
                                                                    "command")) / done, 1)
    return {"registrations_per_s": result["goodput_rps"], "answers": result.get("counts"),
            "cpu_ms_per_registration": {n: c["gross_ms"] for n, c in cpu.items() if n != "total"},
            "cpu_ms_total": round(sum(c["gross_ms"] or 0 for n, c in cpu.items() if n not in ("total", "client")), 1),
            "store_ops_per_registration": ops}


def measure_side(label: str, tree: Path | None, rate: float, seconds: float) -> dict:
    """One side: the platform from `tree` (None: this tree), idle, registration capacity, journeys."""
    fresh = int(seconds / 3 * REGISTRATIONS_PER_S_CEILING) + 20  # never-seen PNS for the registration phase
    need = int(rate * seconds * 1.5) + fresh + 80
    print(f"[{label}] starting the platform{' from ' + str(tree) if tree else ''}...", flush=True)
    # One store for every database on both sides: the published comparisons were made so, and the default base
    # predates the store process per service.
    with journey.running_platform(need, extra_env={"PUPNS_EDGE_CAPACITY": "64"}, code_root=tree,
                                  own_stores=False) as (
            stack, _var, rows, journeys, _admin):
        idle = journey.idle_rates(stack, 20.0)
        idle_ops = round(sum(v for k, v in idle["store_ops"].items() if k != "requests"), 1)
        print(f"[{label}] idle store operations/s: {idle_ops}", flush=True)
        with edge_pinned(stack):
            registration = register_capacity(stack, rows[:fresh], seconds / 3, idle)
        print(f"[{label}] registration: {registration}", flush=True)
        found = journey.phase(stack, journeys, rows[fresh:], rate, seconds, idle)
    ops = found["store_ops_per_journey"]
    completed = max(1, found["completed"])
    # Gross figures too: "net of idle" subtracts each side's idle rates, but the pollers that back off when idle
    # run at their fast interval under load, so the side with cheaper idleness would be charged for them.
    idle_share = found["window_s"] / completed
    gross_ops = sum(v for k, v in ops.items() if k != "requests") + idle_ops * idle_share
    return {"idle_store_ops_per_s": idle_ops,
            "journey_cpu_ms_gross": round(sum(c.get("gross_ms") or 0 for n, c in found["cpu"].items()
                                              if n not in ("total", "client")), 1),
            "journey_store_ops_gross": round(gross_ops, 1),
            "journey_waits": {step: v["waits"] for step, v in found["steps"].items() if v["waits"]},
            "idle_cores": round(sum(v for k, v in idle.items() if k not in ("store_ops", "client")), 3),
            "registration": registration,
            "journeys_completed": sum(1 for r in found["records"] if r["ok"]),
            "journeys_started": len(found["records"]),
            "journey_cpu_ms_net": found["cpu"]["total"]["net_ms"],
            "journey_cpu_ms_by_component": {n: c["net_ms"] for n, c in found["cpu"].items() if n != "total"},
            "journey_store_ops": round(sum(v for k, v in ops.items() if k != "requests"), 1)}


def side_order(rounds: int) -> list[str]:
    """The sides in the order they run: before, after, after, before, repeated (one round: before, after)."""
    pattern = ("before", "after", "after", "before")
    return [pattern[i % len(pattern)] for i in range(2 * rounds)]


def mean_of(runs: list) -> object:
    """One side's figures averaged over its runs: numbers, and dicts of them, field by field; anything else (or a
    figure some run lacks) as the first run has it."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: mean_of([run.get(key) if isinstance(run, dict) else None for run in runs]) for key in first}
    if all(isinstance(run, int | float) and not isinstance(run, bool) for run in runs):
        return round(sum(runs) / len(runs), 1)
    return first


def write(found: dict, out: str = "before_after") -> None:
    """bench/results/<out>.{json,md,png}."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{out}.json").write_text(json.dumps(found, indent=2))
    before, after = found["before"], found["after"]
    limit = found["hashing_limit_per_s"]
    rows = [("idle store operations/s", before["idle_store_ops_per_s"], after["idle_store_ops_per_s"]),
            ("idle cores (platform)", before["idle_cores"], after["idle_cores"]),
            ("registrations/s (closed loop, 4 clients)", before["registration"]["registrations_per_s"],
             after["registration"]["registrations_per_s"]),
            ("registrations/s as share of the hashing limit",
             f"{before['registration']['registrations_per_s'] / limit:.0%}",
             f"{after['registration']['registrations_per_s'] / limit:.0%}"),
            ("CPU-ms per registration (all components)", before["registration"]["cpu_ms_total"],
             after["registration"]["cpu_ms_total"]),
            ("store operations per registration (gross)", before["registration"]["store_ops_per_registration"],
             after["registration"]["store_ops_per_registration"]),
            ("journeys completed / started", f"{before['journeys_completed']}/{before['journeys_started']}",
             f"{after['journeys_completed']}/{after['journeys_started']}"),
            ("CPU-ms per journey (gross: all platform CPU in the phase / journeys)", before["journey_cpu_ms_gross"],
             after["journey_cpu_ms_gross"]),
            ("CPU-ms per journey (net of each side's idle use)", before["journey_cpu_ms_net"],
             after["journey_cpu_ms_net"]),
            ("store operations per journey (gross)", before["journey_store_ops_gross"],
             after["journey_store_ops_gross"]),
            ("store operations per journey (net of each side's idle use)", before["journey_store_ops"],
             after["journey_store_ops"]),
            ("waits per journey's steps (polls while an event travels)", before["journey_waits"],
             after["journey_waits"])]
    lines = [f"# Before/after in one run — {found['date']}", "", found["machine"],
             f"Base: `{found['base']}` ({found['base_subject']}...); after: this tree "
             f"(`{found['head']}`). Both sides run the platform as `make run` does (SecantusDB on disk, syncing "
             f"every commit) with the client on the same cores, one after the other{_order(found)}; the hashing "
             f"limit measured in the same run is {limit}/s ({found['hash_ms']} ms per hash x {found['cores']} cores, "
             "every core hashing at once).", "",
             "| figure | before | after |", "|---|---|---|"]
    lines += [f"| {name} | {b} | {a} |" for name, b, a in rows]
    lines += ["", "CPU-ms per registration by component:", "", "| component | before | after |", "|---|---|---|"]
    for name in before["registration"]["cpu_ms_per_registration"]:
        lines.append(f"| {name} | {before['registration']['cpu_ms_per_registration'][name]} | "
                     f"{after['registration']['cpu_ms_per_registration'].get(name)} |")
    lines += ["", "CPU-ms per journey by component (net of idle):", "", "| component | before | after |",
              "|---|---|---|"]
    for name in before["journey_cpu_ms_by_component"]:
        lines.append(f"| {name} | {before['journey_cpu_ms_by_component'][name]} | "
                     f"{after['journey_cpu_ms_by_component'].get(name)} |")
    lines += ["", f"![before/after]({out}.png)", ""]
    (RESULTS / f"{out}.md").write_text("\n".join(lines))
    chart(before, after, out)


def _order(found: dict) -> str:
    """How the sides ran, when more than once each."""
    runs = found.get("runs")
    if not runs or len(runs["before"]) < 2:
        return ""
    return (f" in the order {', '.join(found['order'])} (a drift of the VM's speed over the run weighs on both sides "
            f"alike), each figure the mean of its side's {len(runs['before'])} runs (CPU-ms per registration run by "
            f"run: before {runs['before']}, after {runs['after']})")


def chart(before: dict, after: dict, out: str = "before_after") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [("idle store ops/s", "idle_store_ops_per_s", None),
               ("store ops / registration", "registration", "store_ops_per_registration"),
               ("CPU-ms / registration", "registration", "cpu_ms_total"),
               ("registrations/s", "registration", "registrations_per_s"),
               ("store ops / journey (gross)", "journey_store_ops_gross", None),
               ("CPU-ms / journey (gross)", "journey_cpu_ms_gross", None)]
    fig, axes = plt.subplots(1, len(figures), figsize=(3 * len(figures), 3.2))
    for ax, (title, key, sub) in zip(axes, figures, strict=True):
        values = [(side[key][sub] if sub else side[key]) or 0 for side in (before, after)]
        ax.bar(["before", "after"], values, color=["#bbbbbb", "#2b7bba"])
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{out}.png", dpi=110)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default=DEFAULT_BASE, help="the commit whose services are 'before'")
    parser.add_argument("--rate", type=float, default=1.0, help="journeys started per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="arrival window of the journey phase")
    parser.add_argument("--name", default="before_after", help="the results' file name (bench/results/<name>.*)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side, in ABBA order")
    args = parser.parse_args(argv)
    from datetime import UTC, datetime

    cores = usable_cores()
    hash_ms = all_cores_hash_ms(cores, 20)  # every core hashing at once: the limit the cores have together
    work = Path(tempfile.mkdtemp(prefix="before-after-"))
    tree = work / "before"
    git("worktree", "add", "--detach", str(tree), args.base)
    order, runs = side_order(args.rounds), {"before": [], "after": []}
    try:
        for side in order:
            runs[side].append(measure_side(side, tree if side == "before" else None, args.rate, args.seconds))
    finally:
        git("worktree", "remove", "--force", str(tree))
    found = {side: mean_of(measured) for side, measured in runs.items()}
    found.update(order=order, runs={side: [run["registration"]["cpu_ms_total"] for run in measured]
                                    for side, measured in runs.items()})
    found.update(date=datetime.now(UTC).isoformat(timespec="seconds"), base=git("rev-parse", "--short", args.base),
                 base_subject=git("log", "-1", "--format=%s", args.base)[:100],
                 head=git("rev-parse", "--short", "HEAD"),
                 machine=machine_facts(),
                 hash_ms=round(hash_ms, 1), cores=cores, hashing_limit_per_s=hashing_limit_per_s(hash_ms, cores))
    write(found, args.name)
    print((RESULTS / f"{args.name}.md").read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
