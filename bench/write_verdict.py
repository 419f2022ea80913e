"""The write-path bench's verdict at 10x: paired runs against their own capacity, and the floor a turn-away costs.

A single 8-second flood on a VM whose speed drifts by minutes is a noisy verdict: a registration phase completes
~150-200 operations, and its capacity, measured minutes earlier, moved by 15-25 % between closed loops of the same
run. So each path's 10x flood is run more than once, each run right after a capacity measurement of its own (the
first run's capacity is the sweep's best closed loop, the later runs' a closed loop of the sweep's best client
count); the headline share is the median run's, beside the worst. A run whose own closed loop was turned away is
shown but not counted (its capacity measured the clients' retries). Turn-away p99, timeouts and other answers are
the worst and the totals over every run, not a median.

The floor: the same open loop at the path's 10x rate against a constant 503 (bench.floor_app under the edge's own
gunicorn worker): what answering a request at all costs the server and the client on these cores, below which no
code of the edge can push a turn-away. With the path's success cost C, a flood of F x capacity can leave at most
the share s for which s x C + (F - s) x floor = C (`ceiling`) on cores the load generator shares.
"""
from __future__ import annotations

import statistics

ACCEPTED = ("503q", "429")


def floods(kind: str, phases: list[dict]) -> list[dict]:
    """The 10x floods of `kind`: the curve's (run 1; the only one in reports before 2026-12-05) and the repeats."""
    return [p for p in phases if p["kind"] == kind and p.get("rate") and (p.get("run") or p.get("factor") == 10)]


def paired_runs(kind: str, phases: list[dict]) -> list[dict]:
    """Every 10x flood of `kind` with the capacity it was measured against: run, capacity, goodput, share, and
    whether that capacity counts (`valid`: its own closed loop was never turned away, so it measured the platform,
    not the clients' retries)."""
    return [{"run": p.get("run", 1), "capacity_rps": p["capacity_rps"], "goodput_rps": p["goodput_rps"],
             "share": round(p["goodput_rps"] / p["capacity_rps"], 3) if p["capacity_rps"] else 0.0,
             "away_p99_ms": p["away_p99_ms"], "timeouts": p["counts"].get("timeout", 0),
             "valid": not own_capacity_turned_away(kind, phases, p.get("run", 1))}
            for p in sorted(floods(kind, phases), key=lambda p: p.get("run", 1))]


def own_capacity_turned_away(kind: str, phases: list[dict], run: int) -> int:
    """Turn-aways in the closed loop a later run measured its capacity with (the curve's run: none of its own)."""
    own = next((p for p in phases if p["kind"] == kind and p.get("run") == run and p.get("rate") is None), None)
    return sum(n for k, n in own["counts"].items() if k in ACCEPTED) if own else 0


def verdict(kind: str, phases: list[dict], good: tuple[str, ...]) -> dict:
    """The 10x headline: the median run's goodput and share, the worst share, the worst turn-away p99, and the
    timeouts and other answers of every run together."""
    runs = paired_runs(kind, phases)
    counted = [r for r in runs if r["valid"]] or runs
    median_share = statistics.median_low([r["share"] for r in counted])
    middle = next(r for r in counted if r["share"] == median_share)
    other = sum(n for p in floods(kind, phases) for k, n in p["counts"].items()
                if not (k.startswith("2") or k in good or k in ACCEPTED))
    p99s = [r["away_p99_ms"] for r in runs if r["away_p99_ms"] is not None]
    return {"goodput_at_10x_rps": middle["goodput_rps"], "goodput_at_10x_share": median_share,
            "goodput_at_10x_share_worst": min(r["share"] for r in counted), "runs_at_10x": runs,
            "turn_away_p99_ms_at_10x": max(p99s) if p99s else None,
            "timeouts_at_10x": sum(r["timeouts"] for r in runs), "other_answers_at_10x": other}


def floor_ceiling(kind: str, phases: list[dict], seconds: float, costs: dict | None) -> dict | None:
    """The floor's server and client CPU-ms per answer at the path's 10x rate, and the share of capacity a 10x
    flood could leave if every turn-away cost only that (`costs`: the path's turn-away costs, for C and k)."""
    floor = next((p for p in phases if p["kind"] == kind and p.get("floor")), None)
    answers = sum(floor["counts"].values()) if floor else 0
    if not answers or not costs:
        return None
    server = floor["edge_cpu_share"] * seconds * 1000 / answers
    client = floor["client_cpu_share"] * seconds * 1000 / answers
    run = next(p for p in floods(kind, phases) if p.get("run", 1) == 1)
    return {"floor_server_ms": round(server, 3), "floor_client_ms": round(client, 3),
            "floor_ceiling_share": round(ceiling(costs["success_cpu_ms"], run["rate"] / run["capacity_rps"],
                                                 server + client), 3)}


def ceiling(success_ms: float, factor: float, turn_away_ms: float) -> float:
    """The goodput share s of capacity that cores full at capacity can give a flood of `factor` x capacity when
    each turn-away costs `turn_away_ms`: s x C + (factor - s) x t = C, so s = (C - factor x t) / (C - t)."""
    return max(0.0, (success_ms - factor * turn_away_ms) / (success_ms - turn_away_ms))


def markdown_lines(heads: dict) -> list[str]:
    """The report's section on the paired 10x runs and the floor."""
    lines = ["", "## 10x, run by run, and the floor", "",
             "Each 10x flood right after a capacity measurement of its own (this VM's speed drifts); the headline "
             "share above is the median run's. The floor is the same open loop at the first run's rate against a "
             "constant 503 under the edge's gunicorn worker (bench.floor_app, GET over 1,000 connections): what any "
             "answer costs the server and the client on these cores. Ceiling at the floor: the share s at which "
             "successes and turn-aways fill the cores, s x C + (10 - s) x floor = C, so s = (C - 10 x floor) / "
             "(C - floor), floor = server + client and C as in the table above: no edge code can make a 10x flood "
             "on cores the load generator shares leave more than that. A run not counted had its own capacity "
             "loop turned away.", "",
             "| path | runs: capacity/s -> goodput/s (share) | median | worst | floor server / client ms per answer | "
             "ceiling measured / at the floor |", "|---|---|---|---|---|---|"]
    for kind, h in heads.items():
        runs = "; ".join(f"{r['capacity_rps']} -> {r['goodput_rps']} ({100 * r['share']:.0f} %)"
                         + ("" if r.get("valid", True) else " not counted: its capacity loop was turned away")
                         for r in h.get("runs_at_10x", []))
        t, f = h.get("turn_away_costs") or {}, h.get("floor") or {}
        floor = f"{f['floor_server_ms']} / {f['floor_client_ms']}" if f else "-"
        ceilings = (f"{100 * t['ceiling_share']:.0f} % / {100 * f['floor_ceiling_share']:.0f} %"
                    if t and f else "-")
        lines.append(f"| {kind} | {runs} | {100 * h['goodput_at_10x_share']:.0f} % | "
                     f"{100 * h.get('goodput_at_10x_share_worst', h['goodput_at_10x_share']):.0f} % | {floor} | "
                     f"{ceilings} |")
    return lines
