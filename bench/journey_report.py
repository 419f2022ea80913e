"""The journey bench's arithmetic and report: per-step figures, CPU per journey, irreducible parts, capacity."""
from __future__ import annotations

import collections
import json
import math
from pathlib import Path

from bench import limits as limits_mod
from bench.password_hash import machine_facts

RESULTS = Path(__file__).resolve().parent / "results"
PLATFORM = ("edge", "identity", "forms", "verification", "documents", "notifications", "store", "broker")
SAVE = {"http": 1, "rpc": 1, "read": 1, "insert": 1}
# What a step cannot avoid on this design: one HTTP round trip to the edge, the RPCs it needs (GET /me asks
# identity and notifications), the hash, and one durable store write or point read per document touched.
PARTS = {"register": {"http": 1, "rpc": 1, "hash": 1, "insert": 1}, "confirm": SAVE,
         "login": {"http": 1, "rpc": 1, "read": 1, "hash": 1}, "status": {"http": 1, "rpc": 2, "read": 2},
         "form": {"http": 1, "rpc": 1, "read": 1}, "save": SAVE,
         "upload": {"http": 1, "rpc_200k": 1, "insert_200k": 1}, "submit": SAVE, "approve": SAVE}
POD_CORES = {"edge": 2.0, "store": None, "broker": None}  # CPU limits in deploy/k8s; None: not scaled by replicas
CENSUS_NIGHT = 140.0  # journeys started per second (issue 15)
LIMIT_OF = {"http": "http_floor", "rpc": "rpc_echo", "hash": "hash", "insert": "raw_insert", "read": "raw_read",
            "rpc_200k": "rpc_echo_200k", "insert_200k": "raw_insert_200k"}


def store_floor() -> dict[str, int]:
    """Store writes and reads a journey cannot avoid, over its steps (the four saves counted apart)."""
    found = {"insert": 0, "read": 0}
    for step, parts in PARTS.items():
        times = 4 if step == "save" else 1
        found["insert"] += times * (parts.get("insert", 0) + parts.get("insert_200k", 0))
        found["read"] += times * parts.get("read", 0)
    return found


STORE_FLOOR = sum(store_floor().values())


def store_cpu_floor(limits: dict) -> float | None:
    """The store's CPU-ms for a journey's irreducible writes and reads, at the raw per-operation CPU measured."""
    try:
        cpu = {"insert": limits["raw_insert"]["server_cpu_ms"], "read": limits["raw_read"]["server_cpu_ms"]}
    except KeyError:
        return None
    return round(sum(n * cpu[kind] for kind, n in store_floor().items()), 1)


def cpu_floor(limits: dict) -> dict[str, float | None]:
    """A journey's irreducible CPU-ms by part (its hashes, RPC round trips, HTTP requests, store operations) at
    the per-call server CPU bench.limits measured; a hash is single-threaded, so its time is its CPU."""
    counts = {"hash": 0, "rpc": 0, "http": 0}
    for step, parts in PARTS.items():
        for part in counts:
            counts[part] += (4 if step == "save" else 1) * (parts.get(part, 0) + parts.get(f"{part}_200k", 0))
    unit = {"hash": limits.get("hash", {}).get("p50_ms"), "rpc": limits.get("rpc_echo", {}).get("server_cpu_ms"),
            "http": limits.get("http_floor", {}).get("server_cpu_ms")}
    found = {part: round(n * unit[part], 1) if unit[part] is not None else None for part, n in counts.items()}
    found["store"] = store_cpu_floor(limits)
    found["total"] = round(sum(v or 0.0 for v in found.values()), 1)
    found["counts"] = {**counts, "store": STORE_FLOOR}
    return found


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of seconds, in ms (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def phase_summary(records: list[dict], rate: float, seconds: float, window: float, steps: tuple[str, ...]) -> dict:
    """Journeys and every step of one phase: completions/s over the phase's window, p50/p99, errors, waits."""
    ok = [r for r in records if r["ok"]]
    per_step = {}
    for step in steps:
        mine = [r["steps"][step] for r in records if step in r["steps"]]
        done = [s for s in mine if not s.get("failed")]
        codes: collections.Counter = collections.Counter()
        for s in mine:
            codes.update(s["codes"])
        waits = sum(s["waits"] for s in mine)
        per_step[step] = {"completed": len(done), "per_s": round(len(done) / window, 2),
                          "p50_ms": pct([s["latency"] for s in done], 0.5),
                          "p99_ms": pct([s["latency"] for s in done], 0.99),
                          "elapsed_p99_ms": pct([s["elapsed"] for s in done], 0.99),
                          "errors": sum(codes.values()) - waits, "waits": waits,
                          "failed": len(mine) - len(done), "answers": dict(codes)}
    return {"rate": rate, "seconds": seconds, "window_s": round(window, 1), "started": len(records),
            "completed": len(ok), "journeys_per_s": round(len(ok) / window, 2),
            "journey_p50_s": ms_to_s(pct([r["end"] - r["start"] for r in ok], 0.5)),
            "journey_p99_s": ms_to_s(pct([r["end"] - r["start"] for r in ok], 0.99)),
            "client_start_lag_p99_s": ms_to_s(pct([r["start"] - r["due"] for r in records], 0.99)),
            "failed_at": dict(collections.Counter(r["failed_at"] for r in records if not r["ok"])),
            "failures": sorted({f"{r['failed_at']}: {r['steps'].get(r['failed_at'], {}).get('detail', '')}"
                                for r in records if not r["ok"]})[:5], "steps": per_step}


def ms_to_s(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 2)


def cpu_per_journey(before: dict[str, float], after: dict[str, float], idle: dict[str, float], window: float,
                    completed: int) -> dict[str, dict]:
    """CPU-ms per completed journey of each component, gross and net of its idle use; cores it kept busy."""
    found = {}
    for name in before:
        spent = after.get(name, before[name]) - before[name]
        net = max(0.0, spent - idle.get(name, 0.0) * window)
        found[name] = {"gross_ms": round(1000 * spent / completed, 1) if completed else None,
                       "net_ms": round(1000 * net / completed, 1) if completed else None,
                       "cores": round(spent / window, 3)}
    platform = [found[n]["net_ms"] or 0.0 for n in PLATFORM if n in found]
    found["total"] = {"net_ms": round(sum(platform), 1) if completed else None,
                      "cores": round(sum(found[n]["cores"] for n in PLATFORM if n in found), 3)}
    return found


def irreducible(limits: dict) -> dict[str, dict]:
    """Each step's floor: the sum of its parts' p50 latencies measured by bench.limits."""
    found = {}
    for step, parts in PARTS.items():
        ms = sum(count * limits[LIMIT_OF[part]]["p50_ms"] for part, count in parts.items())
        found[step] = {"parts": " + ".join(f"{n}x {p}" if n > 1 else p for p, n in parts.items()), "ms": round(ms, 1)}
    return found


def worst_day(population: float = 4.5e6, rush_share: float = 0.4, rush_days: int = 3,
              peak_hour_share: float = 0.1) -> dict:
    """Journeys started per second in the peak hour of the campaign's worst day (a deadline rush)."""
    day = population * rush_share / rush_days
    return {"journeys_per_day": round(day), "peak_hour": round(day * peak_hour_share),
            "per_s": round(day * peak_hour_share / 3600, 1)}


def capacity_plan(cpu_ms: dict[str, float], rate: float, utilisation: float = 0.6) -> dict[str, dict]:
    """Cores each component needs for `rate` journeys/s with every core at most `utilisation` busy, and replicas
    at deploy/k8s's CPU limit per pod (1 core a service pod, 2 an edge pod). The store and the broker get cores
    only: their scaling is not more of the same pod (docs/capacity.md)."""
    plan = {}
    for name, ms in cpu_ms.items():
        cores = rate * ms / 1000 / utilisation
        per_pod = POD_CORES.get(name, 1.0)
        plan[name] = {"cores": round(cores, 1), "replicas": max(1, math.ceil(cores / per_pod)) if per_pod else None}
    plan["total"] = {"cores": round(sum(p["cores"] for p in plan.values()), 1)}
    return plan


def plans(cpu_ms: dict[str, float]) -> dict[str, dict]:
    """The two loads docs/capacity.md plans for: the worst day's peak hour and the census-night peak."""
    peak = worst_day()
    return {"worst_day_peak_hour": {"rate": peak["per_s"], **peak, "plan": capacity_plan(cpu_ms, peak["per_s"])},
            "census_night": {"rate": CENSUS_NIGHT, "plan": capacity_plan(cpu_ms, CENSUS_NIGHT)}}


def stack_share(raw_profile: str, needle: str) -> float:
    """% of py-spy raw samples (`frame;frame;... count` lines) with a frame containing `needle`."""
    total = hit = 0
    for line in raw_profile.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            total += int(count)
            hit += int(count) if needle in stack else 0
    return round(100 * hit / total, 1) if total else 0.0


def saturation(cpu_ms: dict[str, float]) -> list[tuple[str, float]]:
    """Journeys/s at which one core of each component is full, the first to saturate first."""
    return sorted(((name, round(1000 / ms, 1)) for name, ms in cpu_ms.items() if ms), key=lambda item: item[1])


def reference_cpu(phases: list[dict]) -> tuple[dict, dict[str, float]]:
    """The phase whose costs the plan uses (the fastest that completed every journey it started) and its net
    CPU-ms per journey of each platform component."""
    whole = [p for p in phases if p["completed"] and p["completed"] == p["started"]] or [p for p in phases
                                                                                        if p["completed"]]
    best = max(whole or phases, key=lambda p: p["journeys_per_s"])
    return best, {n: best["cpu"][n]["net_ms"] for n in PLATFORM if best["cpu"].get(n, {}).get("net_ms")}


def phase_line(summary: dict, cpu: dict) -> str:
    return (f"  {summary['rate']}/s: {summary['completed']}/{summary['started']} journeys, "
            f"p50 {summary['journey_p50_s']} s, p99 {summary['journey_p99_s']} s, failed at {summary['failed_at']}, "
            f"platform CPU {cpu['total']['net_ms']} ms/journey, {cpu['total']['cores']} cores"
            + "".join(f"\n    {failure}" for failure in summary["failures"]))


def capacity_lines(cpu_ms: dict[str, float], roster: dict, best_rate: float) -> list[str]:
    both = plans(cpu_ms)
    day, night = both["worst_day_peak_hour"], both["census_night"]
    lines = [f"## Capacity from this run's costs (those of the {best_rate}/s phase; every core at most 60 % busy)", "",
             f"Worst day: {day['journeys_per_day']:,} journeys (40 % of 4.5 million in the last 3 days), peak hour "
             f"10 % of it: {day['rate']} journeys/s. Census night: {night['rate']:.0f} journeys/s. Assumptions and "
             "what changes with MongoDB 7: docs/capacity.md.", "",
             "| component | CPU-ms / journey | cores, worst-day peak | replicas | cores, census night | replicas |",
             "|---|---|---|---|---|---|"]
    for name, ms in cpu_ms.items():
        a, b = day["plan"][name], night["plan"][name]
        lines.append(f"| {name} | {ms} | {a['cores']} | {a['replicas'] or '-'} | {b['cores']} | "
                     f"{b['replicas'] or '-'} |")
    lines.append(f"| total | {sum(cpu_ms.values()):.1f} | {day['plan']['total']['cores']} | | "
                 f"{night['plan']['total']['cores']} | |")
    if roster:
        busy = ", ".join(f"{n} {v}" for n, v in roster["cpu_ms_per_1000_rows"].items() if v >= 50)
        lines += ["", f"Roster through the API: {roster['rows']} rows in {roster['seconds']} s = "
                  f"**{roster['rows_per_s']} rows/s** (4.5 million rows: "
                  f"{4.5e6 / roster['rows_per_s'] / 3600:.1f} h); CPU-ms per 1,000 rows: {busy}."]
    return lines + [""]


def markdown(phases: list[dict], idle: dict, limits: dict, profiles: dict, smoke: bool, roster: dict) -> str:
    best, cpu_ms = reference_cpu(phases)
    lines = [f"# Registration day, whole journeys{' (SMOKE RUN: tiny rates, not a measurement)' if smoke else ''}",
             "", machine_facts(), "The platform as `make run` starts it (SecantusDB on disk syncing every commit, "
             "one process per service, edge 2x8) and the client share both cores. Open-loop Poisson arrivals of "
             "journeys; see bench/journey.py for what a journey does.", "",
             "| offered/s | started | completed | journeys/s | journey p50 / p99 s | client start lag p99 s | "
             "failed at | platform cores busy | platform CPU-ms / journey |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {p['rate']} | {p['started']} | {p['completed']} | {p['journeys_per_s']} | {p['journey_p50_s']} / "
              f"{p['journey_p99_s']} | {p['client_start_lag_p99_s']} | {p['failed_at'] or '-'} | "
              f"{p['cpu']['total']['cores']} | {p['cpu']['total']['net_ms']} |" for p in phases]
    lines += [f"- failure at {p['rate']}/s: {failure}" for p in phases for failure in p["failures"]]
    names = [n for n in (*PLATFORM, "helpers", "client") if n in phases[0]["cpu"]]
    lines += ["", "## CPU-ms per completed journey, by component (net of idle; gross in brackets)", "",
              "| offered/s | " + " | ".join(names) + " | platform total |", "|---|" + "---|" * (len(names) + 1)]
    lines += [f"| {p['rate']} | " + " | ".join(f"{p['cpu'][n]['net_ms']} ({p['cpu'][n]['gross_ms']})" for n in names)
              + f" | {p['cpu']['total']['net_ms']} |" for p in phases]
    floor = cpu_floor(limits)
    lines += ["", f"Irreducible CPU of a journey (bench.limits, same run): {floor['counts']['hash']} hashes "
              f"{floor['hash']} ms + {floor['counts']['rpc']} RPC round trips {floor['rpc']} ms + "
              f"{floor['counts']['http']} HTTP requests {floor['http']} ms + {floor['counts']['store']} store "
              f"operations {floor['store']} ms = **{floor['total']} ms**, beside the platform's "
              f"**{sum(cpu_ms.values()):.0f} ms** at {best['rate']}/s."]
    lines += ["", "Idle use subtracted (cores): " + ", ".join(f"{n} {v:.3f}" for n, v in idle.items()
                                                            if isinstance(v, float)), "",
              "Store operations per completed journey (serverStatus opcounters, net of the idle platform's "
              f"{sum(idle.get('store_ops', {}).values()):.0f}/s; a journey's irreducible parts touch the store "
              f"{STORE_FLOOR} times):", ""]
    lines += [f"- {p['rate']}/s: " + ", ".join(f"{k} {v}" for k, v in p.get("store_ops_per_journey", {}).items())
              for p in phases]
    lines += ["", f"The store's CPU for those {STORE_FLOOR} operations at the raw cost measured by bench.limits: "
              f"{store_cpu_floor(limits)} ms per journey, beside the {cpu_ms.get('store')} ms measured.", ""]
    floors = irreducible(limits)
    lines += ["## Each step beside the sum of its irreducible parts", "",
              f"Step latency at {phases[0]['rate']} journeys/s (the lightest load); parts measured by bench.limits "
              "in the same run against the same store and broker (p50 of each).", "",
              "| step | done/s | p50 ms | p99 ms | p99 with waits ms | errors | waits | irreducible parts | "
              "their sum ms | p50 / sum |", "|---|---|---|---|---|---|---|---|---|---|"]
    for step, s in phases[0]["steps"].items():
        floor = floors["save" if step.startswith("save_") else step]
        ratio = f"{s['p50_ms'] / floor['ms']:.1f}x" if s["p50_ms"] and floor["ms"] else "-"
        lines.append(f"| {step} | {s['per_s']} | {s['p50_ms']} | {s['p99_ms']} | {s['elapsed_p99_ms']} | "
                     f"{s['errors']} | {s['waits']} | {floor['parts']} | {floor['ms']} | {ratio} |")
    for p in phases[1:]:
        lines += ["", f"### Steps at {p['rate']} journeys/s", "", "| step | done/s | p50 ms | p99 ms | "
                  "p99 with waits ms | errors | waits | answers other than 2xx |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {step} | {s['per_s']} | {s['p50_ms']} | {s['p99_ms']} | {s['elapsed_p99_ms']} | {s['errors']} | "
                  f"{s['waits']} | {s['answers'] or '-'} |" for step, s in p["steps"].items()]
    lines += ["", "## Limits measured in this run", "", *([f"**{limits['note']}**", ""] if "note" in limits else []),
              *limits_mod.limits_table(limits), "",
              f"## What saturates first (costs of the {best['rate']}/s phase, one core per process)", ""]
    lines += [f"- {name}: one core full at {rate} journeys/s" for name, rate in saturation(cpu_ms)]
    total = sum(cpu_ms.values())
    lines += [f"- the whole platform: {total:.0f} CPU-ms per journey, i.e. {2000 / total:.1f} journeys/s on these "
              "2 cores with nothing else running" if total else "- (no completed journey)", ""]
    lines += capacity_lines(cpu_ms, roster, best["rate"])
    for name, prof in profiles.items():
        engine = f" WiredTiger (the storage engine MongoDB also uses): {prof['wiredtiger_share']} % of samples." \
            if "wiredtiger_share" in prof else ""
        lines += [f"## Profile of {name} ({prof['samples']} samples, py-spy, {best['rate']}/s-class load).{engine}", "",
                  "Own time:", "", *[f"- {share} % {frame}" for share, frame in prof["own"]], "", "Inclusive:", "",
                  *[f"- {share} % {frame}" for share, frame in prof["inclusive"] if not frame.startswith("process ")],
                  ""]
    return "\n".join(lines) + "\n"


def chart(phases: list[dict], limits: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(15, 9))
    rates = [p["rate"] for p in phases]
    axes[0][0].plot(rates, [p["journeys_per_s"] for p in phases], marker="o", label="completed/s")
    axes[0][0].plot(rates, rates, ls="--", color="grey", label="offered")
    axes[0][0].set(title="journeys completed per second", xlabel="offered journeys/s")
    steps = list(phases[0]["steps"])
    for p in phases:
        axes[0][1].plot(steps, [p["steps"][s]["p99_ms"] or 0 for s in steps], marker="o", label=f"{p['rate']}/s")
    axes[0][1].set(title="step p99 latency (ms)", yscale="log")
    axes[0][1].tick_params(axis="x", rotation=60, labelsize=8)
    bottom = [0.0] * len(phases)
    for name in PLATFORM:
        values = [p["cpu"].get(name, {}).get("net_ms") or 0 for p in phases]
        axes[1][0].bar([str(r) for r in rates], values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes[1][0].set(title="CPU-ms per completed journey (net of idle)", xlabel="offered journeys/s")
    floors = irreducible(limits)
    measured = [phases[0]["steps"][s]["p50_ms"] or 0 for s in steps]
    floor_ms = [floors["save" if s.startswith("save_") else s]["ms"] for s in steps]
    x = range(len(steps))
    axes[1][1].bar([i - 0.2 for i in x], measured, 0.4, label=f"step p50 at {phases[0]['rate']}/s")
    axes[1][1].bar([i + 0.2 for i in x], floor_ms, 0.4, label="sum of irreducible parts")
    axes[1][1].set_xticks(list(x), steps, rotation=60, fontsize=8)
    axes[1][1].set(title="step cost vs its floor (ms)")
    for ax in (axes[0][0], axes[0][1], axes[1][0], axes[1][1]):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write(phases: list[dict], idle: dict, limits: dict, profiles: dict, roster: dict, smoke: bool = False) -> None:
    """bench/results/journey.{md,json,png} (per-journey records stay out of the JSON)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    best, cpu_ms = reference_cpu(phases)
    slim = [{k: v for k, v in p.items() if k != "records"} for p in phases]
    out = {"smoke": smoke, "phases": slim, "idle_cores": idle, "limits": limits, "irreducible": irreducible(limits),
           "reference_rate": best["rate"], "cpu_ms_per_journey": cpu_ms, "saturation": saturation(cpu_ms),
           "store_floor_per_journey": STORE_FLOOR, "cpu_floor_ms": cpu_floor(limits),
           "plans": plans(cpu_ms), "roster_load": roster, "profiles": profiles,
           "curves": {"offered": [p["rate"] for p in phases], "completed_per_s": [p["journeys_per_s"] for p in phases],
                      "cpu_ms_per_journey": [p["cpu"]["total"]["net_ms"] or 0 for p in phases]}}
    (RESULTS / "journey.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    (RESULTS / "journey.md").write_text(markdown(phases, idle, limits, profiles, smoke, roster))
    chart(phases, limits, RESULTS / "journey.png")
    print((RESULTS / "journey.md").read_text(), flush=True)
