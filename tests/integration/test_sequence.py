"""The sequence (issue 11, item 6): every committed event gets a continuous number, whatever the gaps in positions,
and a database writer who deletes an event, a whole stream or a block of the sequence is found by the audit."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from pupns.canonical import canonical_json
from pupns.eventstore import NewEvent
from pupns.integrity import verify_chains
from pupns.positions import PositionBlocks
from pupns.sequence import COLLECTION, RUN_GAP, VOID_AFTER, Sequencer, _runs, check
from tests.clock import Clock


@pytest.fixture
def store(store_for):
    return store_for("sequenced")


def numbers(store) -> dict[str, int]:
    """event id -> its number in the sequence."""
    return {entry[0]: block["first"] + i for block in store.db[COLLECTION].find()
            for i, entry in enumerate(block["entries"])}


def reserve(store, count: int = 1) -> int:
    """`count` positions reserved by another process (a fresh one: exactly `count`); returns the first."""
    return PositionBlocks(store.counters).take(count, None)


def aborted_append(store, count: int = 1) -> None:
    """What an append that failed after reserving its positions leaves: a gap."""
    reserve(store, count)


def late_append(store, stream: str, position: int) -> dict:
    """An append that reserved `position` earlier and commits only now (its transaction was slow)."""
    supply = store.positions
    store.positions = SimpleNamespace(take=lambda count, above: position)
    try:
        return store.append(stream, 0, [NewEvent("Late")])[0]
    finally:
        store.positions = supply


def reasons(store) -> set[tuple]:
    return {(b["stream"], b["version"], b["reason"]) for b in check(store)}


def test_numbers_are_continuous_across_a_failed_append_and_a_late_commit(store):
    clock = Clock()
    sequencer = Sequencer(store, clock)
    store.append("a", 0, [NewEvent("A"), NewEvent("B")])
    aborted_append(store)  # position 3: never filled
    slow = reserve(store)  # position 4: filled later
    store.append("b", 0, [NewEvent("C")])
    assert sequencer.run_once() == 3
    assert sequencer.low_water == 2  # positions 3 and 4 may still be filled
    late = late_append(store, "c", slow)
    assert sequencer.run_once() == 1
    assert sorted(numbers(store).values()) == [1, 2, 3, 4]
    assert numbers(store)[late["_id"]] == 4  # numbered in the order it committed, not by its position
    assert sequencer.low_water == 2
    clock.now += VOID_AFTER
    assert sequencer.run_once() == 0 and sequencer.low_water == 5  # the failed append's position passed over
    assert check(store) == [] and verify_chains(store)["broken"] == []


def test_a_restarted_sequencer_takes_up_the_chain_and_numbers_nothing_twice(store):
    store.append("a", 0, [NewEvent("A")])
    slow = reserve(store)
    store.append("b", 0, [NewEvent("B")])
    assert Sequencer(store).run_once() == 2
    late_append(store, "c", slow)
    store.append("d", 0, [NewEvent("D")])
    restarted = Sequencer(store)
    assert restarted.run_once() == 2 and restarted.run_once() == 0
    assert sorted(numbers(store).values()) == [1, 2, 3, 4] and len(numbers(store)) == store.count()
    assert check(store) == []


def test_two_sequencers_racing_keep_one_chain(store):
    """Every replica runs a sequencer: of two that find the same events, one block lands; the other follows it."""
    first, second = Sequencer(store), Sequencer(store)
    store.append("a", 0, [NewEvent("A")])
    assert first.run_once() == 1
    store.append("b", 0, [NewEvent("B")])
    assert second.run_once() == 0 and second.lost  # it had not seen block 1: its block 1 is refused, it reloads
    assert second.run_once() == 1 and not second.lost
    assert first.run_once() == 0  # now the first one is behind: refused, reloads
    store.append("c", 0, [NewEvent("C")])
    assert first.run_once() == 1 and second.run_once() == 0 and second.run_once() == 0
    assert sorted(numbers(store).values()) == [1, 2, 3] and check(store) == []


def test_deleting_the_newest_event_of_a_stream_is_found(store):
    """The chains cannot see this one: the stream just ends one event earlier."""
    store.append("pay", 0, [NewEvent("Opened")])
    newest = store.append("pay", 1, [NewEvent("Paid", {"amount": 1})])[0]
    Sequencer(store).run_once()
    store.events.delete_one({"_id": newest["_id"]})
    assert {(b["stream"], b["reason"]) for b in verify_chains(store)["broken"]} == {
        ("pay", "sequenced_event_missing")}


def test_deleting_a_whole_stream_is_found(store):
    store.append("account-7", 0, [NewEvent("Opened"), NewEvent("Named")])
    store.append("account-8", 0, [NewEvent("Opened")])
    Sequencer(store).run_once()
    store.events.delete_many({"stream": "account-7"})
    assert reasons(store) == {("account-7", 1, "sequenced_event_missing"), ("account-7", 2, "sequenced_event_missing")}


def test_a_deleted_or_renumbered_block_is_found(store):
    sequencer = Sequencer(store)
    for n in range(3):
        store.append(f"s-{n}", 0, [NewEvent("A")])
        sequencer.run_once()
    blocks = store.db[COLLECTION]
    middle = blocks.find_one({"_id": 2})
    blocks.delete_one({"_id": 2})
    store.events.delete_one({"_id": middle["entries"][0][0]})  # the event and the block that named it
    assert (None, None, "sequence_broken") in reasons(store)
    blocks.delete_one({"_id": 3})  # and renumber the last one to close the gap
    last = {**blocks.find_one({"_id": 1}), "_id": 2}
    blocks.insert_one(last)
    found = reasons(store)
    assert (None, None, "sequence_broken") in found and (None, None, "sequence_block_altered") in found


def test_a_block_forged_without_the_audit_key_is_found(store):
    """A writer re-keys a block with a plain hash (all it can do without the key held outside the database)."""
    store.append("pay", 0, [NewEvent("Paid")])
    Sequencer(store).run_once()
    blocks = store.db[COLLECTION]
    block = blocks.find_one({"_id": 1})
    block["entries"][0][4] = "0" * 64
    covered = {k: block.get(k) for k in ("_id", "first", "entries", "low_water", "prev")}
    block["mac"] = hashlib.sha256(canonical_json(covered).encode()).hexdigest()
    blocks.replace_one({"_id": 1}, block)
    found = reasons(store)
    assert (None, None, "sequence_block_altered") in found and ("pay", 1, "sequenced_event_changed") in found


def test_an_event_slipped_in_below_the_low_water_mark_is_found(store):
    store.append("a", 0, [NewEvent("A")])
    Sequencer(store).run_once()
    copy = {**store.read_stream("a")[0], "_id": "slipped-in", "stream": "z", "version": 1}
    store.events.insert_one(copy)
    assert (None, None, "events_not_sequenced") in reasons(store)


def test_a_checkpoint_finds_the_sequence_cut_off_with_its_events(store):
    """Cutting off the newest blocks with the events they named leaves a shorter chain that verifies: the signed
    checkpoint, kept outside the database, remembers the newest block it saw."""
    from pupns import checkpoint

    sequencer = Sequencer(store)
    store.append("a", 0, [NewEvent("A")])
    sequencer.run_once()
    store.append("b", 0, [NewEvent("B")])
    sequencer.run_once()
    taken = checkpoint.take(store)
    assert taken["sequence"]["block"] == 2 and checkpoint.check(store, taken) == []
    store.db[COLLECTION].delete_one({"_id": 2})
    store.events.delete_many({"stream": "b"})
    assert check(store) == [] and verify_chains(store)["broken"] == []  # no trace left inside the database
    assert {"reason": "sequence_cut_before_checkpoint", "block": 2} in checkpoint.check(store, taken)


def test_a_running_service_sequences_what_it_and_others_append(runner_factory, rabbit_config, store_for):
    """The Store dependency of every nameko service runs a sequencer; two replicas share one chain."""
    from pupns_dev.waiting import wait_until
    from verification.service import VerificationService

    runner_factory(rabbit_config, VerificationService).start()
    runner_factory(rabbit_config, VerificationService).start()
    store = store_for("verification")
    for n in range(20):
        store.append(f"probe-{n}", 0, [NewEvent("Probed", {"n": n})])
    wait_until(lambda: len(numbers(store)) == store.count(), timeout=30, message="every event sequenced")
    assert sorted(numbers(store).values()) == list(range(1, store.count() + 1))
    assert check(store) == []


def test_an_event_moved_to_another_position_reads_as_changed_not_missing(store):
    """The audit reads sequenced events by runs of positions; one moved elsewhere is still found, by its id."""
    for n in range(5):
        store.append(f"m-{n}", 0, [NewEvent("A")])
    Sequencer(store).run_once()
    moved = store.events.find_one({"stream": "m-2"})
    store.events.update_one({"_id": moved["_id"]}, {"$set": {"position": moved["position"] + 10_000}})
    assert ("m-2", 1, "sequenced_event_changed") in reasons(store)
    assert not any(reason == "sequenced_event_missing" for *_, reason in reasons(store))


def test_positions_are_read_in_runs_split_at_wide_gaps():
    assert _runs([]) == []
    assert _runs([3, 4, 9, 70, 200, 201]) == [(3, 70), (200, 201)]
    assert _runs([5, 5 + RUN_GAP + 1]) == [(5, 5), (5 + RUN_GAP + 1, 5 + RUN_GAP + 1)]
