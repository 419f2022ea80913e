"""bench.store_ops: per-registration store operations from two readings of the store's `top`."""
from __future__ import annotations

import types

from bench.store_ops import delta, render, top_of_all


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


def store_answering(totals: dict) -> types.SimpleNamespace:
    """A stand-in for one store process's client: `admin.command("top")` answers these totals."""
    return types.SimpleNamespace(admin=types.SimpleNamespace(command=lambda name: {"totals": totals}))


def test_top_of_all_puts_every_store_process_s_collections_together():
    row = {kind: {"count": 2, "time": 300} for kind in ("insert", "queries", "getmore", "update", "remove",
                                                         "commands")}
    found = top_of_all([store_answering({"a.events": row, "note": "not a collection"}),
                        store_answering({"b.forms": row})])
    assert sorted(found) == ["a.events", "b.forms"]
    assert found["b.forms"]["insert"] == (2, 300)
