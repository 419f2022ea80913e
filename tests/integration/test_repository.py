"""pupns.repository: aggregates saved after the version they were loaded at, retried on conflict."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from pupns.aggregate import Aggregate, DomainError, DomainEvent
from pupns.contracts import consume
from pupns.contracts.testing import Pinged
from pupns.eventstore import ConcurrencyError, NewEvent
from pupns.projector import Projector
from pupns.repository import Repository


@dataclass(frozen=True)
class Counted(DomainEvent):
    by: int


@dataclass(frozen=True)
class Limited(DomainEvent):
    SCHEMA_VERSION = 2
    limit: int


class Counter(Aggregate):
    """A counter that refuses to pass its limit."""

    EVENTS = (Counted, Limited)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.total, self.limit, self.nip = 0, 10, id

    def add(self, by: int) -> None:
        if self.total + by > self.limit:
            raise DomainError("over_limit")
        self.trigger(Counted(by))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, Counted):
            self.total += event.by
        elif isinstance(event, Limited):
            self.limit = event.limit


class Totals(Projector):
    collections = ("totals",)

    def _on_Counted(self, doc, session):  # noqa: N802
        self.db["totals"].update_one({"_id": doc["stream"]}, {"$inc": {"total": doc["data"]["by"]}},
                                     upsert=True, session=session)


@pytest.fixture
def store(store_for):
    return store_for("repository")


@pytest.fixture
def counters(store):
    return Repository(store, Counter, lambda id: f"counter-{id}", projector=Totals(store.db).apply)


def test_save_appends_after_the_loaded_version_and_projects_in_the_same_transaction(store, counters):
    counter = counters.get("1")
    counter.add(3)
    docs = counters.save(counter, {"actor": "t"})
    assert [d["version"] for d in docs] == [1] and counter.version == 1 and not counter.pending
    assert docs[0]["nip"] == "1" and docs[0]["schema_version"] == 1
    assert counters.get("1").total == 3
    assert store.db["totals"].find_one({"_id": "counter-1"})["total"] == 3


def test_a_stale_copy_cannot_overwrite_a_newer_stream(counters):
    first, second = counters.get("2"), counters.get("2")
    first.add(4)
    counters.save(first, {})
    second.add(9)  # passes its rule on stale state (0 + 9 <= 10) ...
    with pytest.raises(ConcurrencyError):
        counters.save(second, {})  # ... but 4 + 9 would break it: the save must be refused
    assert counters.get("2").total == 4


def test_run_reruns_the_command_on_fresh_state_after_a_conflict(store, counters):
    intruded = []

    def add_five(counter: Counter) -> int:
        if not intruded:  # another writer lands between our read and our write, once
            other = counters.get("3")
            other.add(2)
            counters.save(other, {})
            intruded.append(True)
        counter.add(5)
        return counter.total

    assert counters.run("3", add_five, {"actor": "t"}) == 7
    assert counters.get("3").total == 7 and store.stream_version("counter-3") == 2


def test_run_checks_the_rules_again_on_the_fresh_state(counters):
    def intrude_then_add(counter: Counter) -> None:
        if counter.total == 0:
            other = counters.get("4")
            other.add(8)
            counters.save(other, {})
        counter.add(5)

    with pytest.raises(DomainError):
        counters.run("4", intrude_then_add, {})
    assert counters.get("4").total == 8


def test_the_event_class_schema_version_is_stored(store, counters):
    counter = counters.get("5")
    counter.trigger(Limited(3))
    docs = counters.save(counter, {})
    assert docs[0]["schema_version"] == 2 and counters.get("5").limit == 3


def test_consume_sets_aside_an_unknown_version_and_applies_a_known_one_once(store):
    applied = []
    message = {"event_id": "e-1", "type": "Pinged", "schema_version": 1, "nip": "9", "data": {"note": "hai"},
               "occurred_at": "2026-12-01T00:00:00+00:00"}

    def apply(event: Pinged, key: str) -> None:
        store.append(f"ping-{event.nip}", 0, [NewEvent("PingNoted", event.data())], idempotency_key=key)
        applied.append(event.note)

    assert consume(store, "on_pinged", message, Pinged, apply) is True
    assert consume(store, "on_pinged", message, Pinged, apply) is False  # a redelivery changes nothing
    future = {**message, "event_id": "e-2", "schema_version": 2}
    assert consume(store, "on_pinged", future, Pinged, apply) is False
    broken = {**message, "event_id": "e-3", "data": {}}
    assert consume(store, "on_pinged", broken, Pinged, apply) is False
    assert applied == ["hai"]
    letters = {d["_id"]: d for d in store.db["dead_letters"].find()}
    assert set(letters) == {"on_pinged:e-2", "on_pinged:e-3"}
    assert "schema_version 2" in letters["on_pinged:e-2"]["reason"] and letters["on_pinged:e-3"]["message"] == broken
