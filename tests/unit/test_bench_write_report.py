"""The write-path report's arithmetic: what a flood's turn-aways cost and the goodput share they leave."""
from __future__ import annotations

import pytest

from bench.write_figures import headline, turn_away_costs
from bench.write_report import bracketing_lines, cpu_terms_text, profiled, store_time_lines


def phase(kind: str, goodput: float, counts: dict, cpu: dict, *, rate=None, factor=None, client=0.0, busy=1.9):
    return {"kind": kind, "rate": rate, "factor": factor, "goodput_rps": goodput, "counts": counts,
            "cpu_ms_per_op": cpu, "client_cpu_share": client, "cpu_share": busy, "away_p99_ms": 5.0}


PHASES = [
    phase("register", 10.0, {"201": 80}, {"edge": 2.0, "identity": 60.0, "secantus": 38.0}),
    phase("register", 9.0, {"201": 72, "503q": 720}, {"edge": 12.0, "identity": 60.0, "secantus": 38.0},
          rate=100.0, factor=10, client=0.1),
]
PHASES[1]["capacity_rps"] = 10.0  # the curve's floods carry the capacity they were offered a multiple of


def test_turn_away_costs_split_the_flood_cpu_per_turn_away():
    costs = turn_away_costs("register", PHASES, seconds=8.0)
    # 72 successes and 720 turn-aways: the edge spent (12 - 2) x 72 = 720 ms more, 1 ms per turn-away;
    # the client 0.1 core x 8 s over 792 requests.
    assert costs["turn_aways_per_success"] == 10.0
    assert costs["edge_ms_per_turn_away"] == 1.0
    assert costs["client_ms_per_turn_away"] == pytest.approx(800 / 792, abs=0.01)
    assert costs["success_cpu_ms"] == 100.0
    assert costs["ceiling_share"] == pytest.approx(100 / (100 + 10 * (1 + 800 / 792)), abs=0.001)


def test_no_turn_aways_means_no_cost_figures():
    calm = [PHASES[0], {**PHASES[1], "counts": {"201": 72}}]
    assert turn_away_costs("register", calm, seconds=8.0) is None


def test_headline_compares_the_flood_with_the_best_closed_loop():
    head = headline("register", PHASES, limit_rps=40.0)
    assert head["capacity_share_of_hashing_limit"] == 0.25
    assert head["goodput_at_10x_share"] == 0.9


def test_capacity_in_cpu_terms_uses_the_hash_measured_in_the_same_phase():
    measured = [{**PHASES[0], "hashes_per_op": 1.0, "hash_cpu_ms_per_op": 50.0}, PHASES[1]]
    head = headline("register", measured, limit_rps=40.0)
    # 100 CPU-ms per registration, 50 of them its own hash: the cores could register half as fast as they hash.
    assert head["hash_cpu_ms_in_phase"] == 50.0 and head["capacity_share_in_cpu_terms"] == 0.5
    text = cpu_terms_text("register", head, {"hash_ms": 40.0})
    assert "**50 %**" in text and "40 %" in text  # beside the figure against the limit's own (earlier) hash
    assert "capacity_share_in_cpu_terms" not in headline("register", PHASES, limit_rps=40.0)  # older phases


def test_the_flood_cost_per_success_shows_work_grown_beyond_the_turn_aways():
    hashed = [{**PHASES[0], "hash_cpu_ms_per_op": 50.0}, {**PHASES[1], "hash_cpu_ms_per_op": 60.0}]
    costs = turn_away_costs("register", hashed, seconds=8.0)
    # 110 CPU-ms of every component per success in the flood, plus the client's 10 x 800/792 ms of turn-aways.
    assert costs["flood_cpu_ms_per_success"] == pytest.approx(110 + 10 * 800 / 792, abs=0.05)
    assert costs["flood_cost_share"] == pytest.approx(100 / (110 + 10 * 800 / 792), abs=0.001)
    assert (costs["hash_cpu_ms_at_capacity"], costs["hash_cpu_ms_at_10x"]) == (50.0, 60.0)
    assert "hash_cpu_ms_at_10x" not in turn_away_costs("register", PHASES, seconds=8.0)


def test_the_store_table_puts_capacity_beside_the_flood_and_skips_runs_without_the_figures():
    read = [{**PHASES[0], "store_ms_per_op": {"all": 30.0, "pupns_identity.events": 4.0}},
            {**PHASES[1], "store_ms_per_op": {"all": 80.0, "pupns_edge.line": 23.5, "pupns_identity.events": 9.4}}]
    heads = {"register": headline("register", read, limit_rps=40.0)}
    assert store_time_lines(heads, read)[-1] == ("| register | 30.0 | identity.events 4.0 | 80.0 | "
                                                 "edge.line 23.5, identity.events 9.4 |")
    assert store_time_lines(heads, PHASES)[-1].startswith("|---")


def test_a_profile_name_gives_its_process_flood_and_factor_even_when_the_process_name_holds_a_dash():
    assert profiled("forms-save-10x") == ("forms", "save", "10x")
    assert profiled("secantus-forms-save-2.5x") == ("secantus-forms", "save", "2.5x")
    assert profiled("secantus-identity") == ("secantus-identity", "", "")
    assert profiled("identity") == ("identity", "", "")


def test_the_turn_aways_answered_on_the_event_loop_are_a_share_of_the_flood_s():
    split = [PHASES[0], {**PHASES[1], "turned_away": {"at_once": 540.0, "gate_full": 180.0}}]
    # 540 of the 720 turn-aways answered on the edge's event loop, 180 after the WSGI edge ran
    assert turn_away_costs("register", split, seconds=8.0)["at_once_share"] == 0.75
    assert "at_once_share" not in turn_away_costs("register", PHASES, seconds=8.0)  # phases before the split


def test_a_capacity_is_set_beside_the_hashing_limit_measured_around_its_own_loops():
    around = [{**PHASES[0], "hashing_limits_rps": (48.0, 32.0), "hashing_limit_rps_around": 40.0}, PHASES[1]]
    head = headline("register", around, limit_rps=25.0)  # the run's first limit, timed in a fast minute
    assert head["capacity_share_of_hashing_limit"] == 0.25  # 10/s against the 40/s of the loops' own minutes
    assert head["capacity_share_of_run_start_limit"] == 0.4
    assert "48.0 before and 32.0 after, 40.0 hashes/s" in bracketing_lines({"register": head})[1]
    plain = headline("register", PHASES, limit_rps=25.0)  # phases of reports before the bracketing
    assert plain["capacity_share_of_hashing_limit"] == 0.4 and bracketing_lines({"register": plain}) == []
