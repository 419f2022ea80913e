"""The order in which a consumer applied each source stream's events can be checked afterwards."""
from __future__ import annotations

from pupns.dependencies import consume_once
from pupns.eventstore import NewEvent
from pupns.replay import consumed_out_of_order


def message(event_id: str, stream: str, version: int) -> dict:
    return {"event_id": event_id, "stream": stream, "version": version, "type": "Happened", "data": {},
            "occurred_at": "2026-12-01T00:00:00+00:00"}


def consume(store, handler: str, msg: dict) -> bool:
    return consume_once(store, handler, msg, lambda key: store.append(
        f"copy-{msg['event_id']}", 0, [NewEvent("Copied", {"from": msg["event_id"]})], idempotency_key=key))


def test_in_order_consumption_is_clean_and_a_late_earlier_event_is_reported(store_for):
    store = store_for("ordering")
    assert consume(store, "on_happened", message("a1", "src-1", 1))
    assert consume(store, "on_happened", message("a2", "src-1", 2))
    assert consume(store, "on_happened", message("b2", "src-2", 2))
    assert consume(store, "other_handler", message("b1-other", "src-2", 1))  # another consumer: its own order
    assert consumed_out_of_order(store) == []
    assert not consume(store, "on_happened", message("a1", "src-1", 1))  # a redelivery is not a new application
    assert consumed_out_of_order(store) == []

    assert consume(store, "on_happened", message("b1", "src-2", 1))  # applied after version 2 of its stream
    assert consumed_out_of_order(store) == [{"handler": "on_happened", "stream": "src-2", "version": 1, "after": 2}]
    assert store.applied.find_one({"_id": "on_happened:b1"})["source"] == {"stream": "src-2", "version": 1}
    assert not store._sources  # nothing kept in memory once applied
