"""The edge bench's report: headline figures, the markdown table, the JSON and the goodput chart."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
AIM_SHARE, AIM_TURN_AWAY_MS = 0.95, 50


def headline(capacity: float, phases: list[dict]) -> dict:
    """What the issue asks of a curve: goodput at 10x as a share of capacity, and the turn-away latency."""
    ten = next(p for p in phases if p.get("factor") == 10)
    floor = next((p for p in phases if p.get("factor") == "floor"), None)
    if floor is not None:
        floor_figures = {"floor_cpu_ms_per_request": cpu_ms_per_request(floor),
                         "floor_turn_away_p99_ms": floor["away_p99_ms"]}
    else:
        floor_figures = {}
    return {**floor_figures, "edge_cpu_ms_per_request_at_10x": cpu_ms_per_request(ten),
            "capacity_rps": capacity, "goodput_at_10x_rps": ten["goodput_rps"],
            "goodput_at_10x_share": round(ten["goodput_rps"] / capacity, 3),
            "turn_away_p50_ms": ten["away_p50_ms"], "turn_away_p99_ms": ten["away_p99_ms"],
            "other_answers_at_10x": ten["other"], "edge_cpu_at_10x": ten["edge_cpu_share"],
            "console_p99_ms_at_10x": ten.get("console_p99_ms"),
            "console_not_200_at_10x": sum(n for k, n in ten.get("console_answers", {}).items() if k != "200")}


def cpu_ms_per_request(phase: dict) -> float:
    """Edge (or floor app) CPU milliseconds per request answered in that phase."""
    return round(1000 * phase["edge_cpu_share"] / max(phase["offered_rps"], 1e-9), 3)


def machine_facts(seconds: float, bench) -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "seconds_per_phase": seconds,
            "isolated_back_end_cpus": sorted(bench.back_cpus),
            "isolated_edge_and_client_cpus": sorted(bench.front_cpus)}


def meets_aim(h: dict) -> bool:
    return (h["goodput_at_10x_share"] >= AIM_SHARE and (h["turn_away_p99_ms"] or 0) < AIM_TURN_AWAY_MS
            and h["other_answers_at_10x"] == 0)


def markdown(headlines: dict, phases: list[dict], facts: dict) -> str:
    lines = ["# Edge load bench (bench/edge_load.py)", "", *(f"- {k}: {v}" for k, v in facts.items()),
             "- stack: the real platform on loopback (5 nameko services, RabbitMQ, SecantusDB, edge, console)",
             "- load: bench/loadgen.py, asyncio keep-alive connections, open loop, ignores Retry-After",
             "- route: GET /api/v1/me with one confirmed PNS's token (user rate limit raised for the bench)",
             "- console: during every overload phase a verifier loads the console's pending-registrations page "
             "(one RPC) five times a second",
             "- capacity: the most 2xx/s with admission control out of the way (limit pinned at its ceiling, "
             "closed loops of 4/8/16 clients; only shapes whose ceiling is under 16 in flight turn any away); "
             "the overload phases run the adaptive limit",
             "- placements: `shared` = everything competes for every core; `isolated` = back end (services, "
             "store, broker, console) on the first half of the cores, edge + load generator on the other half",
             "", f"Aim (issue 4): goodput at 10x >= {AIM_SHARE:.0%} of capacity, "
             f"turn-away p99 < {AIM_TURN_AWAY_MS} ms, no other answers.", "",
             "| curve | capacity 2xx/s | goodput at 10x | share | turn-away p50/p99 ms | other |"
             " edge CPU at 10x: cores, ms/req | gunicorn floor: ms/req, p99 ms | console p99 ms / not 200 at 10x |"
             " aim met |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, h in headlines.items():
        lines.append(f"| {name} | {h['capacity_rps']} | {h['goodput_at_10x_rps']} | {h['goodput_at_10x_share']:.1%} |"
                     f" {h['turn_away_p50_ms']}/{h['turn_away_p99_ms']} | {h['other_answers_at_10x']} |"
                     f" {h['edge_cpu_at_10x']}, {h['edge_cpu_ms_per_request_at_10x']} |"
                     f" {h.get('floor_cpu_ms_per_request', '-')}, {h.get('floor_turn_away_p99_ms', '-')} |"
                     f" {h['console_p99_ms_at_10x']} / {h['console_not_200_at_10x']} |"
                     f" {'yes' if meets_aim(h) else 'no'} |")
    lines += ["", "| phase | shape | target req/s | offered req/s | goodput 2xx/s | 2xx p50/p99 ms |"
              " turn-away p50/p99 ms | answers | other | CPU cores: edge / client |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for p in phases:
        lines.append(f"| {p['phase']} | {p['shape']} | {p['target_rps'] or '-'} | {p['offered_rps']} |"
                     f" {p['goodput_rps']} | {p['ok_p50_ms']}/{p['ok_p99_ms']} |"
                     f" {p['away_p50_ms']}/{p['away_p99_ms']} |"
                     f" {p['counts']} | {p['other']} | {p['edge_cpu_share']} / {p['client_cpu_share']} |")
    lines += ["", "`503q` = 503 with code `queue`; `other` = anything but 2xx, 503 queue, 429 (connection errors,"
              " timeouts, 500s). `client_skipped` in the JSON = requests the generator could not send (all"
              " 1000 connections busy). The gunicorn floor is bench/floor_app.py (a constant 503 body) under the"
              " same shape, cores and open loop: what gunicorn itself costs per request here, which no change to"
              " the edge's own code can go below."]
    return "\n".join(lines) + "\n"


def write(headlines: dict, phases: list[dict], seconds: float, bench) -> None:
    facts = machine_facts(seconds, bench)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "edge_load.md").write_text(markdown(headlines, phases, facts))
    (RESULTS / "edge_load.json").write_text(json.dumps({"facts": facts, "curves": headlines, "phases": phases},
                                                       indent=1))
    chart(headlines, phases)
    print(f"wrote {RESULTS}/edge_load.md, .json, .png", flush=True)


def chart(headlines: dict, phases: list[dict]) -> None:
    """Goodput as a share of capacity against offered load (x capacity), one line per placement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curve_ax, shape_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    top = 0.1 + max([1.1] + [p["goodput_rps"] / headlines[p["placement"]]["capacity_rps"] for p in phases
                             if isinstance(p.get("factor"), int) and p["placement"] in headlines])
    for name in ("shared", "isolated"):
        points = [p for p in phases if p.get("placement") == name and isinstance(p.get("factor"), int) and
                  p["phase"].startswith(f"{name}:")]
        capacity = headlines[name]["capacity_rps"]
        curve_ax.plot([p["factor"] for p in points], [p["goodput_rps"] / capacity for p in points], "o-",
                      label=f"{name} (capacity {capacity:.0f}/s)")
    curve_ax.axhline(AIM_SHARE, color="red", ls=":", label=f"aim {AIM_SHARE:.0%}")
    curve_ax.set(xlabel="offered load (x capacity, GET /api/v1/me)", ylabel="goodput / capacity", ylim=(0, top),
                 title="Goodput under overload")
    curve_ax.legend(loc="lower left")
    shapes = {k: v for k, v in headlines.items() if k.startswith("shape ")}
    names = [k.removeprefix("shape ") for k in shapes]
    shape_ax.bar(names, [v["goodput_at_10x_share"] for v in shapes.values()], color="#3b6ea5")
    shape_ax.axhline(AIM_SHARE, color="red", ls=":")
    for i, v in enumerate(shapes.values()):
        shape_ax.annotate(f"p99 {v['turn_away_p99_ms']} ms", (i, v["goodput_at_10x_share"]), ha="center",
                          va="bottom", fontsize=8)
    shape_ax.set(xlabel="gunicorn workers x threads (isolated)", ylabel="goodput at 10x / capacity", ylim=(0, 1.2),
                 title="Edge shapes at 10x")
    fig.tight_layout()
    fig.savefig(RESULTS / "edge_load.png", dpi=100)
    plt.close(fig)
