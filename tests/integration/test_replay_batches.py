"""Replay reads the log a window of positions at a time: every event once, in order, whatever the batches."""
from __future__ import annotations

import pytest

from identity.adapters.projections import Projector
from pupns.eventstore import NewEvent
from pupns.positions import PositionBlocks
from pupns.replay import checksums, rebuild
from pupns_cli.generate import roster_csv

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


@pytest.fixture
def store(store_for):
    return store_for("batches")


def in_position_order(store) -> list[tuple[int, str]]:
    return [(e["position"], e["type"]) for e in store.events.find().sort("position", 1)]


def test_every_event_once_in_order_across_windows_and_gaps(store):
    for n in range(5):
        store.append("a", n, [NewEvent(f"A{n + 1}")])
    # A log has gaps where an append took positions and then aborted, or a process gave up the rest of its block
    # (here: it restarted): windows there are short or empty.
    store.counters.update_one({"_id": "position"}, {"$inc": {"value": 4}})
    store.positions = PositionBlocks(store.counters)
    store.append("b", 0, [NewEvent("B1"), NewEvent("B2"), NewEvent("B3")])
    store.append("c", 0, [NewEvent("C1")])
    expected = in_position_order(store)
    positions = [p for p, _ in expected]
    assert positions[:5] == [1, 2, 3, 4, 5] and positions[5] >= 10  # the gap is really there
    assert positions[5:] == list(range(positions[5], positions[5] + 4))
    for batch in (1, 2, 3, 1000):
        assert [(e["position"], e["type"]) for e in store.iterate_all(batch)] == expected, batch


def test_events_appended_during_the_read_and_past_the_counter_are_read_too(store):
    store.append("a", 0, [NewEvent("A1"), NewEvent("A2"), NewEvent("A3")])
    reading = store.iterate_all(batch=2)
    seen = [next(reading)["type"]]
    store.append("a", 3, [NewEvent("A4")])  # after the read began
    assert seen + [e["type"] for e in reading] == ["A1", "A2", "A3", "A4"]
    reading = store.iterate_all(batch=3)
    seen = [next(reading)["type"] for _ in range(4)]
    store.append("b", 0, [NewEvent("B1")])  # position 5: in (3, 6], a window past the counter's 4 when read
    assert seen + [e["type"] for e in reading] == ["A1", "A2", "A3", "A4", "B1"]
    # A counter behind the events (a restore that lost its last increments) must not hide any event.
    store.counters.update_one({"_id": "position"}, {"$set": {"value": 2}})
    assert [e["type"] for e in store.iterate_all(batch=2)] == ["A1", "A2", "A3", "A4", "B1"]


def test_replay_in_any_batch_size_builds_the_read_models_the_service_built_event_by_event(identity, store_for):
    """identity's projector prefetches roster entries per batch: an entry imported in one batch and corrected
    in a later one must come out as the live service, which applied each append on its own, left it."""
    text = roster_csv(7, seed=41)
    identity.import_roster(text, ADMIN)
    changed = identity.import_roster(text.replace("Pemerintah Kota", "Pemkot"), ADMIN)
    assert changed["imported"] >= 1  # some entries were corrected: two events for them, in different batches
    store = store_for("identity")
    live = checksums(store.db, Projector.collections)
    assert live["roster"]["count"] == 7
    for batch in (1, 3, 1000):
        scratch = store.db.client[f"{store.db.name}_batch{batch}"]
        try:
            assert rebuild(store, Projector(scratch), batch=batch, target=scratch) == store.count()
            assert checksums(scratch, Projector.collections) == live, batch
        finally:
            store.db.client.drop_database(scratch.name)


def test_a_rebuild_with_progress_counts_the_log_once(store, monkeypatch):
    """The CLI counts the log for its progress bar; the rebuild is given that count instead of scanning again."""
    store.append("a", 0, [NewEvent("A1"), NewEvent("A2")])
    total = store.count()
    counted: list[int] = []
    real_count = store.count
    monkeypatch.setattr(store, "count", lambda: counted.append(1) or real_count())
    seen: list[tuple[int, int]] = []
    scratch = store.db.client[f"{store.db.name}_progress"]
    try:
        assert rebuild(store, Projector(scratch), lambda done, of: seen.append((done, of)), target=scratch,
                       total=total) == 2
        assert counted == [] and seen[-1] == (2, 2)
        rebuild(store, Projector(scratch), lambda done, of: seen.append((done, of)), target=scratch)
        assert counted == [1]  # without a count given, it counts once for its own bar
    finally:
        store.db.client.drop_database(scratch.name)
