"""The write-path bench's report: capacity beside the hashing limit, the floods, CPU per component, profiles (the
figures themselves: bench.write_figures)."""
from __future__ import annotations

import collections
import datetime as dt
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from bench import placement, write_verdict
from bench.edge_report import machine_facts
from bench.password_hash import hashing_limit_per_s
from bench.write_figures import GOOD, capacity_phase, first_run_share, headline, turn_away_costs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
AIM_CAPACITY_SHARE, AIM_GOODPUT_SHARE, AIM_TURN_AWAY_MS = 0.5, 0.9, 50
AIM_READ_GOODPUT_SHARE = 0.95  # issue 9: "the read path keeps its issue-4 aim" (goodput >= 95 % at 10x)


def profiles(var: Path, top: int = 12) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """py-spy raw samples -> the top frames of each profiled process, by own time and by inclusive time."""
    found = {}
    for path in sorted(var.glob("profile-*.txt")):
        own, inclusive, total = collections.Counter(), collections.Counter(), 0
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames, n = stack.split(";"), int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                if "threading.py" not in frame and "<module>" not in frame:
                    inclusive[frame] += n
        if total:
            found[path.stem.removeprefix("profile-")] = {"own": _top(own, total, top),
                                                         "inclusive": _top(inclusive, total, top), "samples": total}
    return found


def profiled(name: str) -> tuple[str, str, str]:
    """A profile's process, flood and factor from its name: "forms-save-10x" is forms during the save flood at 10x;
    "secantus-identity" is that store process at registration capacity (process names may hold a "-")."""
    found = re.fullmatch(r"(.+)-(\w+)-([\d.]+x)", name)
    return (found[1], found[2], found[3]) if found else (name, "", "")


def _top(counter: collections.Counter, total: int, top: int) -> list[tuple[float, str]]:
    return [(round(100 * n / total, 1), frame) for frame, n in counter.most_common(top)]


def write(phases: list[dict], hashing: dict, found_profiles: dict, seconds: float, publish: bool = True,
          placed=None) -> None:
    """The report, written under bench/results/ and printed (`publish=False`: printed only). `placed`: the bench
    (its back_cpus and front_cpus) when the back end and the front (edge, load generator) ran on cores of their
    own; reported as write_load_isolated.*, beside the shared placement's report, never instead of it."""
    everywhere = SimpleNamespace(back_cpus=placement.all_cpus(), front_cpus=placement.all_cpus())  # shared
    limit = hashing_limit_per_s(hashing["hash_ms"], hashing["cores"])
    facts = {**machine_facts(seconds, placed or everywhere), "placement": "isolated" if placed else "shared",
             "hash_ms": hashing["hash_ms"], "cores": hashing["cores"],
             "single_hash_ms": hashing.get("single_hash_ms"), "hashing_limit_rps": limit}
    if hashing.get("stock_hash_ms"):
        facts.update(stock_hash_ms=hashing["stock_hash_ms"],
                     stock_hashing_limit_rps=hashing_limit_per_s(hashing["stock_hash_ms"], hashing["cores"]))
    render(facts, phases, found_profiles, publish)


def render(facts: dict, phases: list[dict], found_profiles: dict, publish: bool = True) -> None:
    """Headlines from the phases; the markdown, JSON and chart under bench/results/ (or the markdown printed)."""
    heads = {kind: headline(kind, phases, facts["hashing_limit_rps"]) for kind in GOOD
             if any(p["kind"] == kind for p in phases)}
    for kind in heads:
        heads[kind]["turn_away_costs"] = turn_away_costs(kind, phases, facts["seconds_per_phase"])
        heads[kind]["floor"] = write_verdict.floor_ceiling(kind, phases, facts["seconds_per_phase"],
                                                           heads[kind]["turn_away_costs"])
    if not publish:
        print(markdown(facts, heads, phases, found_profiles), flush=True)
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = report_stem(facts)
    out = {"machine": facts, "headlines": heads, "profiles": found_profiles, "phases": phases,
           "curves": {kind: {"offered_rps": [p["offered_rps"] for p in phases if p["kind"] == kind and p.get("factor")],
                             "goodput_rps": [p["goodput_rps"] for p in phases if p["kind"] == kind and p.get("factor")]}
                      for kind in heads}}
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    (RESULTS / f"{stem}.md").write_text(markdown(facts, heads, phases, found_profiles))
    chart(phases, heads, RESULTS / f"{stem}.png")
    print((RESULTS / f"{stem}.md").read_text(), flush=True)


def report_stem(facts: dict) -> str:
    return "write_load_isolated" if facts.get("placement") == "isolated" else "write_load"


def where_it_ran(facts: dict) -> str:
    """The placement sentence of the report's head."""
    if facts.get("placement") != "isolated":
        return ("The platform as `make run` starts it (SecantusDB on disk, syncing every commit) and the load "
                "generator share every core.")
    return (f"The platform as `make run` starts it, placed as in production: the back end (every service, store "
            f"and the broker) pinned to CPU {facts['isolated_back_end_cpus']}, the edge and the load generator to "
            f"CPU {facts['isolated_edge_and_client_cpus']} (in a cluster the edge replicas and the flood's clients "
            "are not on the back end's nodes). This is reported beside `write_load.md` (every process on every "
            "core, the figure the issue asks for), not instead of it. The hashing limit is the back end's cores'; "
            "CPU-ms per operation count both sides.")


def hashing_limit_text(facts: dict) -> str:
    """How the hashing limit was measured: every core hashing at once (reports before 2026-12-03: one alone)."""
    if facts.get("single_hash_ms") is None:
        return (f"one argon2id hash {facts['hash_ms']:.1f} ms x {facts['cores']} cores = "
                f"**{facts['hashing_limit_rps']} hashes/s**")
    return (f"with all {facts['cores']} cores hashing at once, one argon2id hash takes {facts['hash_ms']:.1f} ms on "
            f"each = **{facts['hashing_limit_rps']} hashes/s** (one hash alone: {facts['single_hash_ms']:.1f} ms; "
            "argon2id is memory-hard, and cores sharing memory bandwidth hash more slowly together)"
            + stock_limit_text(facts))


def stock_limit_text(facts: dict) -> str:
    """argon2-cffi's own hash beside the platform's (reports from 2026-12-05 on)."""
    if not facts.get("stock_hash_ms"):
        return ""
    return (f". The platform's hash keeps its memory between hashes (`pupns.argon2_blocks`); argon2-cffi's own "
            f"call, which maps and page-faults the hash's whole memory afresh for every hash, takes "
            f"{facts['stock_hash_ms']:.1f} ms on each core = {facts['stock_hashing_limit_rps']} hashes/s, the limit "
            "the issue's \"a core hashes ~20 passwords/s\" was measured with")


def bracketing_lines(heads: dict) -> list[str]:
    """Where the shares of the hashing limit in the table come from, when each path's was measured around its own
    capacity loops (reports from 2026-12-05 on)."""
    found = [(kind, h) for kind, h in heads.items() if h.get("hashing_limit_rps_around")]
    if not found:
        return []
    each = "; ".join(f"{kind}: {h['hashing_limits_rps_before_after'][0]} before and "
                     f"{h['hashing_limits_rps_before_after'][1]} after, {h['hashing_limit_rps_around']} hashes/s, "
                     f"against which {h['capacity_rps']}/s is {100 * h['capacity_share_of_hashing_limit']:.0f} % "
                     f"({100 * h['capacity_share_of_run_start_limit']:.0f} % of the run's first limit)"
                     for kind, h in found)
    return ["", "The shares of the platform's hashing limit in the table are against the limit measured right before "
            "and right after each path's capacity loops, on the same cores with the platform idle, and averaged: "
            f"{each}. This VM's speed drifts, and a limit timed once at the start of a run moved the share by 9 "
            "points between two runs 15 minutes apart (2026-12-05)."]


def cpu_terms_text(kind: str, head: dict, facts: dict) -> str:
    """The capacity in CPU terms: against one hash measured in the same phase where the report has it."""
    cpu = sum(head["cpu_ms_per_op"].values())
    text = (f"{kind}: one costs {cpu:.1f} CPU-ms on every component together, {cpu / facts['hash_ms']:.2f} hashes "
            f"of the limit's: in CPU terms its capacity is {100 * facts['hash_ms'] / cpu:.0f} % of the hashing limit")
    if head.get("hash_cpu_ms_in_phase") is None:
        return text + " (steadier than a rate on a VM whose speed drifts between phases)."
    return (text + f". Against its own hash as the hash pool measured it in the same phase "
            f"({head['hash_cpu_ms_in_phase']} CPU-ms, `pupns_password_hash_cpu_seconds`; the limit's hash was "
            f"timed minutes earlier): **{100 * head['capacity_share_in_cpu_terms']:.0f} %**, a figure no drift of "
            "the VM's speed between phases moves.")


def store_time_lines(heads: dict, phases: list[dict], top: int = 4) -> list[str]:
    """The store's own time per operation (its `top` command) at capacity and at 10x, with the collections that
    took most of it: what a flood adds to the store beside the successes' own writes."""
    lines = ["", "## The store's time per completed operation (ms, SecantusDB's `top`)", "",
             "| path | at capacity | most of it | at 10x | most of it |", "|---|---|---|---|---|"]
    for kind in heads:
        mine = [p for p in phases if p["kind"] == kind]
        pair = (capacity_phase(mine), next(p for p in mine if p.get("factor") == 10))
        if any("store_ms_per_op" not in p for p in pair):
            continue  # a run from before the store was read per phase
        cells = []
        for p in pair:
            spent = {ns: ms for ns, ms in p["store_ms_per_op"].items() if ns != "all"}
            most = ", ".join(f"{ns.removeprefix('pupns_')} {ms}" for ns, ms in list(spent.items())[:top])
            cells.append(f"{p['store_ms_per_op']['all']} | {most}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


STOCK_COLUMN = "; the platform's hash / argon2-cffi's"


def markdown(facts: dict, heads: dict, phases: list[dict], found_profiles: dict) -> str:
    placed = " (back end and front on cores of their own)" if facts.get("placement") == "isolated" else ""
    stock = facts.get("stock_hashing_limit_rps")
    lines = [f"# Write path under a surge{placed} — {facts['date']}", "",
             f"Machine: {facts['nproc']} vCPU {facts['cpu']}, Python {facts.get('python', '')}. "
             + where_it_ran(facts), "",
             f"Hashing limit of these cores, measured in this run: {hashing_limit_text(facts)}.", "",
             f"| path | capacity/s | share of hashing limit (aim >= 50 %{STOCK_COLUMN if stock else ''}) | goodput at "
             "10x | share (aim >= 90 %, read >= 95 % as in issue 4; median of the runs below) | "
             "turn-away p99 at 10x (aim < 50 ms) | timeouts | other answers | propagation lag p99 at capacity / 10x "
             "(aim < 1 s at capacity) |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, h in heads.items():
        share = "n/a (no hash)" if kind == "read" else f"{100 * h['capacity_share_of_hashing_limit']:.0f} %"
        if stock and kind != "read":
            share += f" / {100 * h['capacity_rps'] / stock:.0f} %"
        lines.append(f"| {kind} | {h['capacity_rps']} | {share} | "
                     f"{h['goodput_at_10x_rps']}/s | {100 * h['goodput_at_10x_share']:.0f} % | "
                     f"{h['turn_away_p99_ms_at_10x']} ms | {h['timeouts_at_10x']} | {h['other_answers_at_10x']} | "
                     f"{h['lag_p99_s_at_capacity']} s / {h['lag_p99_s_at_10x']} s |")
    for kind in ("register", "login"):
        if kind in heads:
            lines += ["", cpu_terms_text(kind, heads[kind], facts)]
    lines += bracketing_lines(heads)
    if stock:
        lines += ["", "The second share is against argon2-cffi's own hash's limit (" + str(stock) + " hashes/s, "
                  "measured in this run): the issue's aim was set with that hash, when it cost about what everything "
                  "else in a registration did; the platform's hash now costs less than that."]
    components = sorted(next(iter(heads.values()))["cpu_ms_per_op"])
    lines += ["", "## CPU per completed operation at capacity (ms, by component)", "",
              "| path | " + " | ".join(components) + " | total |", "|---|" + "---|" * (len(components) + 1)]
    for kind, h in heads.items():
        cpu = h["cpu_ms_per_op"]
        lines.append(f"| {kind} | " + " | ".join(str(cpu[k]) for k in sorted(cpu)) + f" | {sum(cpu.values()):.1f} |")
    lines += store_time_lines(heads, phases)
    lines += ["", "## What a flood's turn-aways cost (10x)", "",
              "The load generator and the platform share the cores, so every request turned away costs CPU that a "
              "success could have used. Ceiling = C / (C + k x t): C the CPU-ms of one success at capacity, k the "
              "turn-aways per success, t the edge's and the client's CPU-ms per turn-away (the edge's beyond what "
              "its successes cost; both include holding the flood's hundreds of connections open, so a slow path "
              "turning few requests away shows a higher t). When the measured share is near the ceiling, the cores "
              "spent the difference on "
              "turn-aways; when it is well below with cores idle, something else held the path (a lock, the disk).",
              "",
              "The last three columns say what else the flood cost: the CPU one success took in it (every component "
              "and the client's turn-aways), the share of capacity that leaves (C / that), and the path's own hash "
              "at capacity and at 10x as the hash pool measured it: where the share left is near the measured one "
              "and well below the ceiling, the successes' own work grew under the flood's contention.",
              "", "| path | C (CPU-ms) | k | edge ms / turn-away | client ms / turn-away | ceiling | measured | "
              "cores busy at 10x | CPU-ms per success at 10x | share it leaves | hash CPU-ms at capacity -> 10x | "
              "turn-aways answered on the edge's event loop |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, h in heads.items():
        t = h.get("turn_away_costs")
        if t:
            hashes = (f"{t['hash_cpu_ms_at_capacity']} -> {t['hash_cpu_ms_at_10x']}"
                      if t.get("hash_cpu_ms_at_10x") else "-")
            flood = f"{t['flood_cpu_ms_per_success']} | {100 * t['flood_cost_share']:.0f} %"
            at_once = f"{100 * t['at_once_share']:.0f} %" if "at_once_share" in t else "-"
            lines.append(f"| {kind} | {t['success_cpu_ms']} | {t['turn_aways_per_success']} | "
                         f"{t['edge_ms_per_turn_away']} | {t['client_ms_per_turn_away']} | "
                         f"{100 * t['ceiling_share']:.0f} % | {100 * first_run_share(h):.0f} % | "
                         f"{t['cores_busy_at_10x']} | {flood} | {hashes} | {at_once} |")
    lines += write_verdict.markdown_lines(heads)
    lines += ["", "## Every phase", "", "| phase | offered/s | goodput/s | ok p50/p99 ms | turn-away p50/p99 ms | "
              "propagation lag p50/p99 s (events) | answers |", "|---|---|---|---|---|---|---|"]
    for p in phases:
        counts = ", ".join(f"{k}: {n}" for k, n in sorted(p["counts"].items()))
        if p.get("error_codes"):
            counts += " (" + ", ".join(f"{k}: {n}" for k, n in sorted(p["error_codes"].items())) + ")"
        lag = f"{p.get('lag_p50_s')}/{p.get('lag_p99_s')} ({int(p.get('lag_events') or 0)})"
        lines.append(f"| {p['phase']} | {p['offered_rps']} | {p['goodput_rps']} | {p['ok_p50_ms']}/{p['ok_p99_ms']} | "
                     f"{p['away_p50_ms']}/{p['away_p99_ms']} | {lag} | {counts} |")
    for name, prof in found_profiles.items():
        service, kind, factor = profiled(name)
        during = f"the {kind} flood at {factor}" if kind else "registration at capacity"
        lines += ["", f"## Profile of {service} during {during} ({prof['samples']} samples, py-spy)",
                  "", "Own time:", ""] + [f"- {share} % {frame}" for share, frame in prof["own"]]
        lines += ["", "Inclusive:", ""] + [f"- {share} % {frame}" for share, frame in prof["inclusive"]]
    return "\n".join(lines) + "\n"


def chart(phases: list[dict], heads: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for kind in heads:
        mine = [p for p in phases if p["kind"] == kind and p.get("factor")]
        factors = [p["factor"] for p in mine]
        axes[0].plot(factors, [p["goodput_rps"] / p["capacity_rps"] for p in mine], marker="o", label=kind)
        axes[1].plot(factors, [p["away_p99_ms"] or 0 for p in mine], marker="o", label=kind)
        axes[2].plot(factors, [p["counts"].get("timeout", 0) + p["other"] for p in mine], marker="o", label=kind)
    axes[0].axhline(AIM_GOODPUT_SHARE, color="grey", ls="--", lw=1)
    if "read" in heads:
        axes[0].axhline(AIM_READ_GOODPUT_SHARE, color="grey", ls=":", lw=1)  # the read path's own aim
    axes[1].axhline(AIM_TURN_AWAY_MS, color="grey", ls="--", lw=1)
    for ax, title in zip(axes, ("goodput / capacity", "turn-away p99 (ms)", "timeouts + other answers"),
                         strict=True):
        ax.set_title(title)
        ax.set_xlabel("offered load (x capacity)")
        ax.set_xticks([1, 2, 5, 10])
        ax.legend()
    fig.suptitle(f"Write path under a surge ({dt.date.today()})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":  # re-render the report from its JSON (after a change to the report itself)
    saved = json.loads((RESULTS / (sys.argv[1] if len(sys.argv) > 1 else "write_load.json")).read_text())
    render(saved["machine"], saved["phases"], saved["profiles"])
