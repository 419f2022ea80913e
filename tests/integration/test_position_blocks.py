"""Global positions from per-process blocks (pupns.positions), against the real MongoDB-compatible server."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pupns.eventstore import ConcurrencyError, EventStore, NewEvent
from pupns.integrity import verify_chains
from pupns.positions import BLOCK_TTL, PositionBlocks
from pupns.sequence import VOID_AFTER, Sequencer, check
from tests.clock import Clock


@pytest.fixture
def store(store_for):
    return store_for("blocks")


def replica(store: EventStore, clock: Clock) -> EventStore:
    """A second process's store on the same database, its blocks on the test's clock."""
    other = EventStore(store.db, store.service)
    other.positions = PositionBlocks(other.counters, clock)
    return other


def test_appends_in_a_burst_share_few_reservations_and_keep_their_order(store):
    for n in range(200):
        store.append(f"burst-{n}", 0, [NewEvent("Opened", {"n": n})])
    positions = [doc["position"] for doc in store.iterate_all()]
    assert positions == sorted(positions) and len(set(positions)) == 200
    assert [doc["data"]["n"] for doc in store.iterate_all()] == list(range(200))  # the order they were appended
    assert store.positions.reservations < 40  # one round trip per append would be 200


def test_an_append_now_and_then_reserves_only_what_it_uses(store):
    clock = Clock()
    store.positions = PositionBlocks(store.counters, clock)
    for n in range(5):
        store.append(f"calm-{n}", 0, [NewEvent("Opened")])
        clock.now += 10  # one append every 10 s: blocks of one, no gap
    assert [doc["position"] for doc in store.iterate_all()] == [1, 2, 3, 4, 5]


def test_a_block_is_not_used_after_its_deadline(store):
    clock = Clock()
    mine, other = replica(store, clock), replica(store, clock)
    for n in range(20):  # a burst: mine holds a block with positions to spare
        mine.append(f"mine-{n}", 0, [NewEvent("Opened")])
    later = other.append("other", 0, [NewEvent("Opened")])[0]["position"]
    clock.now += BLOCK_TTL
    after_deadline = mine.append("mine-late", 0, [NewEvent("Opened")])[0]["position"]
    assert after_deadline > later  # from a new block, not the spare positions of the old one


def test_a_stream_appended_by_two_processes_keeps_its_positions_in_version_order(store):
    """Each process holds a block; an append after another process's event that lies above the block's next
    position takes a new block, so replay (in position order) meets the stream's events in version order."""
    clock = Clock()
    first, second = replica(store, clock), replica(store, clock)
    for n in range(10):  # both warm up: each holds a block with spare positions, second's above first's
        first.append(f"warm-1-{n}", 0, [NewEvent("Opened")])
        second.append(f"warm-2-{n}", 0, [NewEvent("Opened")])
    for version in range(6):
        writer = second if version % 2 else first
        head = writer.read_stream("shared")
        writer.append("shared", version, [NewEvent("Step", {"v": version + 1})],
                      head_hash=head[-1]["hash"] if head else None,
                      head_position=head[-1]["position"] if head else None)
    other_version = first.read_stream("shared")[-1]["version"]  # a head read by the store itself (no hash given)
    first.append("shared", other_version, [NewEvent("Step", {"v": other_version + 1})])
    in_position_order = [doc["data"]["v"] for doc in store.iterate_all() if doc["stream"] == "shared"]
    assert in_position_order == list(range(1, 8))
    assert verify_chains(store)["broken"] == []


def test_an_append_whose_caller_gives_a_hash_but_no_position_takes_a_new_block(store):
    clock = Clock()
    first, second = replica(store, clock), replica(store, clock)
    for n in range(10):
        first.append(f"warm-{n}", 0, [NewEvent("Opened")])
    head = second.append("s", 0, [NewEvent("A")])[0]
    moved_on = first.append("s", 1, [NewEvent("B")], head_hash=head["hash"])[0]
    assert moved_on["position"] > head["position"]


def test_a_lone_event_is_one_insert_and_still_refuses_a_moved_stream(store):
    store.append("lone", 0, [NewEvent("A")])
    with pytest.raises(ConcurrencyError):
        store.append("lone", 0, [NewEvent("B")])
    assert [e["type"] for e in store.read_stream("lone")] == ["A"]


def test_the_sequencer_numbers_every_event_of_interleaved_blocks_and_passes_over_abandoned_positions(store):
    clock = Clock()
    first, second = replica(store, clock), replica(store, clock)
    for n in range(30):
        (first if n % 3 else second).append(f"mixed-{n}", 0, [NewEvent("Opened")])
    spare = store.counters.find_one({"_id": "position"})["value"] - 30  # what the two blocks did not hand out
    sequencer = Sequencer(store, clock)
    assert sequencer.run_once() == 30 and check(store) == []
    assert spare > 0 and sequencer.low_water < sequencer.highest  # spare positions below the top: still awaited
    first.append("after", 0, [NewEvent("Opened")])  # past the spare positions above the last event seen
    assert sequencer.run_once() == 1 and check(store) == []
    clock.now += VOID_AFTER
    assert sequencer.run_once() == 0
    assert sequencer.low_water == sequencer.highest  # the abandoned positions were passed over


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3), st.sampled_from([0.0, 0.001, 0.3, 1.9, 2.5]),
                                st.booleans()), min_size=1, max_size=60))
def test_whatever_the_interleaving_positions_are_unique_ordered_per_process_and_never_from_a_stale_block(store, steps):
    """Two processes take positions in any order, at any pace, some after the other's newest (a stream it wrote):
    no position twice; each process's positions rise; each is above what it must follow; and none comes from a
    block reserved BLOCK_TTL or more before it was handed out (read off the counter's history)."""
    store.counters.update_one({"_id": "position"}, {"$set": {"value": 0}})
    clock = Clock()
    suppliers = [PositionBlocks(store.counters, clock), PositionBlocks(store.counters, clock)]
    taken: list[list[int]] = [[], []]
    history: list[tuple[float, int]] = [(clock.now, 0)]  # (time, counter value) after every take
    for who, count, pause, follow in steps:
        clock.now += pause
        other = taken[1 - who]
        above = other[-1] if follow and other else 0
        first = suppliers[who].take(count, above)
        assert first > above
        stale = max((value for at, value in history if at <= clock.now - BLOCK_TTL), default=0)
        assert first > stale  # reserved less than BLOCK_TTL ago
        taken[who] += range(first, first + count)
        history.append((clock.now, store.counters.find_one({"_id": "position"})["value"]))
    for mine in taken:
        assert mine == sorted(mine) and len(set(mine)) == len(mine)
    assert not set(taken[0]) & set(taken[1])
    assert max(taken[0] + taken[1]) <= history[-1][1]
