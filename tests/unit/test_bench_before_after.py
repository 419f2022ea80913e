"""bench.before_after: the order its sides run in, and a side's figures over several runs."""
from __future__ import annotations

from bench.before_after import mean_of, side_order


def test_one_round_runs_each_side_once_and_more_rounds_run_abba():
    assert side_order(1) == ["before", "after"]
    assert side_order(2) == ["before", "after", "after", "before"]
    assert side_order(3) == ["before", "after", "after", "before", "before", "after"]


def test_a_side_s_figures_are_averaged_field_by_field_and_the_rest_kept_from_its_first_run():
    runs = [{"registration": {"cpu_ms_total": 150.0, "answers": {"201": 200}}, "journeys_started": 61,
             "label": "a", "missing_later": 3.0, "journey_waits": {"confirm": 50}},
            {"registration": {"cpu_ms_total": 130.0, "answers": {"201": 240}}, "journeys_started": 61,
             "label": "b", "journey_waits": {"confirm": 61}}]
    assert mean_of(runs) == {"registration": {"cpu_ms_total": 140.0, "answers": {"201": 220.0}},
                             "journeys_started": 61.0, "label": "a", "missing_later": 3.0,
                             "journey_waits": {"confirm": 55.5}}
