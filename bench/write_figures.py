"""The write-path bench's figures: a path's capacity and its share of the hashing limit, its goodput under a flood,
and what the flood's turn-aways cost on the shared cores (bench.write_report writes them up)."""
from __future__ import annotations

from bench import write_verdict

GOOD = {"register": ("201", "409"), "login": ("200",), "save": ("200", "409"), "read": ("200",)}
ACCEPTED = write_verdict.ACCEPTED


def capacity_phase(phases: list[dict]) -> dict:
    """The closed-loop phase with the most goodput: the path's capacity and its CPU per operation."""
    sweep = (p for p in phases if p["rate"] is None and "run" not in p)  # not a 10x run's own capacity
    return max(sweep, key=lambda p: p["goodput_rps"])


def headline(kind: str, phases: list[dict], limit_rps: float) -> dict:
    """The path's figures against its aims. A hashing path's share is against the limit measured around its own
    capacity loops when the phase has it (`WriteBench.capacity`), else against the run's (`limit_rps`)."""
    mine = [p for p in phases if p["kind"] == kind]
    best = capacity_phase(mine)
    capacity = best["goodput_rps"]
    ten = next(p for p in mine if p.get("factor") == 10)
    around = best.get("hashing_limit_rps_around")
    return {"capacity_rps": capacity, "capacity_share_of_hashing_limit": round(capacity / (around or limit_rps), 3),
            **({"hashing_limit_rps_around": around, "hashing_limits_rps_before_after": best["hashing_limits_rps"],
                "capacity_share_of_run_start_limit": round(capacity / limit_rps, 3)} if around else {}),
            **write_verdict.verdict(kind, phases, GOOD[kind]),
            "lag_p99_s_at_capacity": best.get("lag_p99_s"), "lag_p99_s_at_10x": ten.get("lag_p99_s"),
            "cpu_ms_per_op": best["cpu_ms_per_op"], **hash_in_phase(best)}


def first_run_share(head: dict) -> float:
    """The share of the 10x flood the turn-away costs were measured in (the curve's, run 1)."""
    runs = head.get("runs_at_10x") or [{"share": head["goodput_at_10x_share"]}]
    return runs[0]["share"]


def hash_in_phase(phase: dict) -> dict:
    """One hash's CPU-ms as the hash pool measured it during the capacity phase, and the capacity in CPU terms
    against it: (cores / CPU-ms of one operation) / (cores / CPU-ms of one hash). Both come from the same minutes,
    so a VM whose speed drifts between the hashing-limit measurement and the phase does not move the share."""
    hashes, hash_ms = phase.get("hashes_per_op"), phase.get("hash_cpu_ms_per_op")
    if not hashes or not hash_ms:
        return {}
    one = hash_ms / hashes
    return {"hash_cpu_ms_in_phase": round(one, 1),
            "capacity_share_in_cpu_terms": round(one / sum(phase["cpu_ms_per_op"].values()), 3)}


def turn_away_costs(kind: str, phases: list[dict], seconds: float) -> dict | None:
    """What a flood's turn-aways cost on the shared cores, from the 10x phase beside the capacity phase.

    The edge's CPU beyond what its successes cost at capacity, and the client's CPU, per request turned away; and
    the goodput share the cores could give if nothing else changed: C / (C + k x t), C the CPU-ms of one success at
    capacity (every component), k the turn-aways per success, t one turn-away's edge + client CPU-ms."""
    mine = [p for p in phases if p["kind"] == kind]
    best = capacity_phase(mine)
    ten = next((p for p in mine if p.get("factor") == 10), None)
    if ten is None:
        return None
    done = ten["goodput_rps"] * seconds
    away = sum(n for k, n in ten["counts"].items() if k in ACCEPTED)
    if not done or not away:
        return None
    success = sum(best["cpu_ms_per_op"].values())
    edge = (ten["cpu_ms_per_op"]["edge"] - best["cpu_ms_per_op"]["edge"]) * done / away
    client = ten.get("client_cpu_share", 0) * seconds * 1000 / max(1, sum(ten["counts"].values()))
    per_success = away / done
    return {"success_cpu_ms": round(success, 1), "turn_aways_per_success": round(per_success, 1),
            "edge_ms_per_turn_away": round(edge, 2), "client_ms_per_turn_away": round(client, 2),
            "ceiling_share": round(success / (success + per_success * (edge + client)), 3),
            "cores_busy_at_10x": ten.get("cpu_share"), **flood_cost(best, ten, success, per_success * client),
            **answered_at_once(ten, away)}


def answered_at_once(ten: dict, away: int) -> dict:
    """The share of the flood's turn-aways the edge answered on its event loop (`EdgeApp.shed`: no thread, no
    WSGI), from its /metrics; the rest went through the WSGI edge first (phases from 2026-12-05 on)."""
    split = ten.get("turned_away")
    return {"at_once_share": round(min(1.0, split.get("at_once", 0.0) / away), 3)} if split else {}


def flood_cost(best: dict, ten: dict, success: float, client_per_success: float) -> dict:
    """What one success cost in the 10x flood, every component and the client's turn-aways together, and the share
    of capacity that cost leaves (C / that): beyond the turn-aways it shows the successes' own work grown under
    the flood's contention, e.g. a memory-hard hash sharing caches with the edge and the client (the hash pool's
    own figure at capacity and at 10x, when the phases have it)."""
    flood = sum(ten["cpu_ms_per_op"].values()) + client_per_success
    found = {"flood_cpu_ms_per_success": round(flood, 1), "flood_cost_share": round(success / flood, 3)}
    if best.get("hash_cpu_ms_per_op") and ten.get("hash_cpu_ms_per_op"):
        found.update(hash_cpu_ms_at_capacity=best["hash_cpu_ms_per_op"], hash_cpu_ms_at_10x=ten["hash_cpu_ms_per_op"])
    return found
