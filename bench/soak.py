"""Soak: whole journeys at 70 % of the measured capacity for 10 minutes; memory and latency must stay flat.

Capacity is the most journeys/s any phase of the last bench.journey run completed (bench/results/journey.json),
unless --rate is given. Journeys arrive open loop as in bench.journey; every 10 s the resident memory (VmRSS) of
each component's processes (a process and its children; the RabbitMQ node) is sampled. Latency over time is each
10 s bucket's journey p50/p99 by completion time. "Flat": the growth between the first and the last two minutes.
Writes bench/results/soak.{md,json,png}. Usage: python -m bench.soak [--rate R] [--minutes 10] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from bench import journey, journey_report
from bench.journey_report import ms_to_s, pct
from bench.password_hash import machine_facts

SAMPLE_EVERY = 10.0
RESULTS = journey_report.RESULTS


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # exited meanwhile
    return round(total / 1024, 1)


def capacity_from_last_run(path: Path = RESULTS / "journey.json") -> float | None:
    """The most journeys/s a measured (not smoke) journey phase completed."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("smoke"):
        return None
    return max((p["journeys_per_s"] for p in data["phases"]), default=None)


def buckets(records: list[dict], seconds: float, width: float = SAMPLE_EVERY) -> list[dict]:
    """Journey p50/p99 (s) and completions of each `width`-second bucket, by completion time."""
    found, last = [], max([r["end"] for r in records] + [seconds])
    for start in range(0, int(last + width), int(width)):
        done = [r["end"] - r["start"] for r in records if r["ok"] and start <= r["end"] < start + width]
        found.append({"t": start, "completed": len(done), "p50_s": ms_to_s(pct(done, 0.5)),
                      "p99_s": ms_to_s(pct(done, 0.99))})
    return found


def growth(series: list[float], points: int) -> float | None:
    """Mean of the last `points` samples minus the mean of the first `points` (after the first sample)."""
    body = [v for v in series[1:] if v is not None]
    if len(body) < 2 * points:
        return None
    return round(sum(body[-points:]) / points - sum(body[:points]) / points, 2)


def sample(stack, stop: threading.Event, out: list[dict], started: float) -> None:
    while not stop.is_set():
        parts = journey.components(stack)
        out.append({"t": round(time.monotonic() - started, 1), **{n: rss_mib(p) for n, p in parts.items()}})
        stop.wait(SAMPLE_EVERY)


def run(rate: float, seconds: float) -> dict:
    need = int(rate * seconds * 1.3) + 60
    with journey.running_platform(need) as (stack, _var, rows, journeys, _admin):
        memory: list[dict] = []
        stop, started = threading.Event(), time.monotonic()
        sampler = threading.Thread(target=sample, args=(stack, stop, memory, started), daemon=True)
        sampler.start()
        records, _ = journey.drive(journeys, rows, rate, seconds, seed=2015)
        stop.set()
        sampler.join()
    over_time = buckets(records, seconds)
    names = [k for k in memory[0] if k != "t"] if memory else []
    points = max(1, int(120 / SAMPLE_EVERY))
    return {"rate": rate, "seconds": seconds, "started": len(records), "completed": sum(r["ok"] for r in records),
            "failed_at": journey_report.phase_summary(records, rate, seconds, seconds, journey.STEPS)["failed_at"],
            "memory_growth_mib": {n: growth([m[n] for m in memory], points) for n in names},
            "p99_growth_s": growth([b["p99_s"] for b in over_time], points),
            "memory_mib": {n: [m[n] for m in memory] for n in names}, "t_memory": [m["t"] for m in memory],
            "p50_s": [b["p50_s"] or 0 for b in over_time], "p99_s": [b["p99_s"] or 0 for b in over_time],
            "completed_per_bucket": [b["completed"] for b in over_time]}


def write(found: dict, note: str) -> None:
    lines = [f"# Soak: {found['rate']} journeys/s for {found['seconds'] / 60:.0f} min ({note})", "", machine_facts(),
             f"Journeys: {found['completed']} of {found['started']} completed; failed at: {found['failed_at'] or '-'}.",
             "", "Growth between the first and the last two minutes (flat: close to 0):", "",
             "| component | RSS at start MiB | RSS at end MiB | growth MiB |", "|---|---|---|---|"]
    for name, series in found["memory_mib"].items():
        lines.append(f"| {name} | {series[0]} | {series[-1]} | {found['memory_growth_mib'][name]} |")
    lines += ["", f"Journey p99 growth: {found['p99_growth_s']} s (p99 per 10 s bucket, first vs last two minutes).",
              "", "![soak](soak.png)"]
    (RESULTS / "soak.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "soak.json").write_text(json.dumps({"note": note, **found}, indent=1))
    chart(found, RESULTS / "soak.png")
    print((RESULTS / "soak.md").read_text(), flush=True)


def chart(found: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, lat) = plt.subplots(1, 2, figsize=(15, 5))
    for name, series in found["memory_mib"].items():
        mem.plot(found["t_memory"], series, label=name)
    mem.set(title="resident memory (MiB)", xlabel="s", yscale="log")
    t = [SAMPLE_EVERY * i for i in range(len(found["p99_s"]))]
    lat.plot(t, found["p50_s"], label="journey p50")
    lat.plot(t, found["p99_s"], label="journey p99")
    lat.set(title=f"journey latency at {found['rate']}/s (s, per 10 s of completions)", xlabel="s")
    for ax in (mem, lat):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, help="journeys/s (default: 70 %% of the last journey run's best)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="one minute at 0.3 journeys/s")
    args = parser.parse_args(argv)
    capacity = capacity_from_last_run()
    if args.smoke:
        rate, seconds, note = 0.3, 60.0, "SMOKE RUN: one minute at a tiny rate, not a measurement"
    elif args.rate:
        rate, seconds, note = args.rate, 60 * args.minutes, "rate given on the command line"
    elif capacity:
        rate, seconds, note = round(0.7 * capacity, 2), 60 * args.minutes, f"70 % of {capacity} journeys/s"
    else:
        print("no measured capacity in bench/results/journey.json: run bench.journey first or give --rate")
        return 1
    write(run(rate, seconds), note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
