"""The write-path bench's 10x verdict: paired runs, their median, and the floor's ceiling."""
from __future__ import annotations

import pytest

from bench.write_figures import capacity_phase, headline, turn_away_costs
from bench.write_verdict import ceiling, floor_ceiling, markdown_lines, paired_runs


def phase(goodput: float, counts: dict, cpu: dict, *, rate=None, p99=5.0, **extra) -> dict:
    return {"kind": "register", "rate": rate, "goodput_rps": goodput, "counts": counts, "cpu_ms_per_op": cpu,
            "client_cpu_share": 0.1, "cpu_share": 1.9, "away_p99_ms": p99, **extra}


CPU = {"edge": 2.0, "identity": 60.0, "secantus": 38.0}
PHASES = [
    phase(10.0, {"201": 80}, CPU, conns=8),
    phase(9.0, {"201": 72, "503q": 720}, {**CPU, "edge": 12.0}, rate=100.0, factor=10, capacity_rps=10.0, run=1),
    phase(12.0, {"201": 96}, CPU, conns=8, run=2),  # run 2's own capacity: not the sweep's
    phase(11.4, {"201": 91, "503q": 900, "timeout": 1}, CPU, rate=120.0, capacity_rps=12.0, run=2, p99=40.0),
    phase(8.0, {"201": 64}, CPU, conns=8, run=3),
    phase(6.0, {"201": 48, "503q": 700, "500": 2}, CPU, rate=80.0, capacity_rps=8.0, run=3, p99=9.0),
    phase(0.0, {"503q": 800}, {}, rate=100.0, floor=True, edge_cpu_share=0.05, client_cpu_share=0.05),
]


def test_each_run_is_judged_against_the_capacity_measured_right_before_it():
    runs = paired_runs("register", PHASES)
    assert [(r["run"], r["share"]) for r in runs] == [(1, 0.9), (2, 0.95), (3, 0.75)]


def test_the_sweep_capacity_ignores_the_runs_own_capacity_measurements():
    assert capacity_phase(PHASES)["goodput_rps"] == 10.0


def test_the_headline_share_is_the_median_run_and_the_worst_figures_are_kept():
    head = headline("register", PHASES, limit_rps=40.0)
    assert head["goodput_at_10x_share"] == 0.9 and head["goodput_at_10x_rps"] == 9.0
    assert head["goodput_at_10x_share_worst"] == 0.75
    # p99 and failures are not medians: the worst run's p99, every run's timeouts and other answers
    assert head["turn_away_p99_ms_at_10x"] == 40.0
    assert head["timeouts_at_10x"] == 1 and head["other_answers_at_10x"] == 3


def test_a_run_whose_capacity_loop_was_turned_away_is_shown_but_not_counted():
    storm = [*PHASES[:4], {**PHASES[4], "counts": {"201": 64, "503q": 9000}}, *PHASES[5:]]
    head = headline("register", storm, limit_rps=40.0)
    assert [r["valid"] for r in head["runs_at_10x"]] == [True, True, False]
    assert head["goodput_at_10x_share"] == 0.9 and head["goodput_at_10x_share_worst"] == 0.9  # median of 0.9, 0.95
    head["turn_away_costs"] = turn_away_costs("register", storm, seconds=8.0)
    assert "not counted" in markdown_lines({"register": head})[-1]


def test_a_report_with_one_flood_reads_as_one_run():
    older = [PHASES[0], {k: v for k, v in PHASES[1].items() if k != "run"}]
    head = headline("register", older, limit_rps=40.0)
    assert head["goodput_at_10x_share"] == head["goodput_at_10x_share_worst"] == 0.9


def test_the_floor_ceiling_charges_every_turn_away_only_what_any_answer_costs():
    costs = turn_away_costs("register", PHASES, seconds=8.0)
    floor = floor_ceiling("register", PHASES, 8.0, costs)
    # 0.05 + 0.05 core over 8 s and 800 answers: 0.5 ms each side per answer; C 100 ms, a flood of 10x: the
    # share s with s x 100 + (10 - s) x 1 = 100
    assert (floor["floor_server_ms"], floor["floor_client_ms"]) == (0.5, 0.5)
    assert floor["floor_ceiling_share"] == pytest.approx(90 / 99, abs=0.001)
    assert floor_ceiling("register", PHASES[:-1], 8.0, costs) is None


def test_the_ceiling_gives_the_share_at_which_successes_and_turn_aways_fill_the_cores():
    assert ceiling(100.0, 10, 0.0) == 1.0
    share = ceiling(2.8, 10, 0.08)
    turn_aways_per_success = 10 / share - 1
    assert 2.8 / (2.8 + turn_aways_per_success * 0.08) == pytest.approx(share)
    assert ceiling(1.0, 10, 0.5) == 0.0  # turn-aways alone would fill the cores


def test_the_section_lists_every_run():
    head = headline("register", PHASES, limit_rps=40.0)
    head["turn_away_costs"] = turn_away_costs("register", PHASES, seconds=8.0)
    head["floor"] = floor_ceiling("register", PHASES, 8.0, head["turn_away_costs"])
    row = markdown_lines({"register": head})[-1]
    assert "10.0 -> 9.0 (90 %); 12.0 -> 11.4 (95 %); 8.0 -> 6.0 (75 %)" in row
    assert "| 90 % | 75 % | 0.5 / 0.5 |" in row
