"""bench.store_ops: per-registration store operations from two readings of the store's `top`."""
from __future__ import annotations

from bench.store_ops import delta, render


def test_delta_divides_what_changed_and_leaves_out_what_did_not():
    before = {"a.events": {"insert": (10, 5000), "queries": (4, 1000)}, "a.idle": {"queries": (7, 70)}}
    after = {"a.events": {"insert": (30, 9000), "queries": (4, 1000)}, "a.idle": {"queries": (7, 70)},
             "b.new": {"update": (5, 2500)}}
    assert delta(before, after, 10) == {"a.events": {"insert": (2.0, 0.4)}, "b.new": {"update": (0.5, 0.25)}}


def test_render_subtracts_idle_work_and_sorts_by_store_time():
    per_reg = {"a.events": {"insert": (2.0, 0.4)}, "b.poll": {"queries": (1.0, 0.9)}, "c.acct": {"update": (1.0, 1.5)}}
    idle = {"b.poll": {"queries": (1.0, 0.9)}}  # the same wall time idle: all of it was polling
    text = render(per_reg, idle, 10, 3.0, "test machine")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["c.acct", "a.events"]
    assert "Total: 3.0 operations, 1.9 store ms" in text
