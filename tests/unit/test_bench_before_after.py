"""bench.before_after: the order its sides run in, a side's figures over several runs, and the edge pinned for the
registration phase."""
from __future__ import annotations

import types

import pytest

from bench.before_after import edge_pinned, mean_of, side_order
from bench.edge_load import EDGE_LIMIT_VARS


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


class RecordingStack:
    """Records the edge's environment at each restart (the stack's part edge_pinned uses)."""

    def __init__(self, env: dict):
        self.cfg = types.SimpleNamespace(extra_env=env)
        self.restarts: list[tuple[str, dict]] = []

    def restart(self, name: str) -> None:
        self.restarts.append((name, dict(self.cfg.extra_env)))


def test_the_registration_phase_runs_on_an_edge_whose_limit_cannot_move_and_the_edge_is_put_back_after():
    stack = RecordingStack({"PUPNS_EDGE_CAPACITY": "64", "PUPNS_OTHER": "x"})
    with edge_pinned(stack, 48):
        assert [name for name, _ in stack.restarts] == ["edge"]
        assert {name: stack.restarts[0][1][name] for name in EDGE_LIMIT_VARS} == dict.fromkeys(EDGE_LIMIT_VARS, "48")
    assert stack.cfg.extra_env == {"PUPNS_EDGE_CAPACITY": "64", "PUPNS_OTHER": "x"}
    assert [name for name, _ in stack.restarts] == ["edge", "edge"]
    assert stack.restarts[1][1] == {"PUPNS_EDGE_CAPACITY": "64", "PUPNS_OTHER": "x"}


def test_the_edge_is_put_back_when_the_phase_fails():
    stack = RecordingStack({})
    with pytest.raises(RuntimeError), edge_pinned(stack):
        raise RuntimeError("the load generator failed")
    assert stack.cfg.extra_env == {} and len(stack.restarts) == 2
