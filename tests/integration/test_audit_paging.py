"""The paged chain check (pupns.integrity.verify_chains_page) over a real store: its pages cover every stream exactly
once and end at stream boundaries, find what the whole check finds, and leave the audit's own job streams out of the
counts (never out of the check)."""
from __future__ import annotations

import uuid

import pytest

from pupns import sequence
from pupns.eventstore import NewEvent
from pupns.integrity import verify_chains, verify_chains_page
from pupns.sequence import COLLECTION, Sequencer, check, check_page, start_check

STREAMS = 120


@pytest.fixture
def store(store_for):
    """A log of STREAMS streams of 1-4 events each, appended in rounds, sequenced in several blocks."""
    store = store_for("paged")
    sequencer = Sequencer(store)
    for round_ in range(4):
        for n in range(STREAMS):
            if n % 4 >= round_:
                store.append(f"s-{n:04d}", round_, [NewEvent("E", {"n": n, "round": round_})])
        sequencer.run_once()
    return store


def pages(store, budget: int, seconds: float | None = None) -> list[dict]:
    found, cursor = [], None
    while True:
        page = verify_chains_page(store, cursor, budget_events=budget, budget_seconds=seconds)
        found.append(page)
        if page["done"]:
            assert page["cursor"] is None
            return found
        assert page["cursor"] != cursor  # every page moves on
        cursor = page["cursor"]


def streams_of(store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for doc in store.events.find({}, {"stream": 1}):
        counts[doc["stream"]] = counts.get(doc["stream"], 0) + 1
    return counts


def test_pages_cover_every_stream_exactly_once_and_end_at_stream_boundaries(store):
    expected = streams_of(store)
    assert len(expected) == STREAMS and store.count() == sum(expected.values()) > STREAMS
    found = pages(store, budget=25)
    chain_pages = [p for p in found if p["events_checked"]]
    assert len(chain_pages) >= 4  # the budget cut the log into several pages
    assert sum(p["streams_checked"] for p in found) == STREAMS  # none skipped, none counted twice
    assert sum(p["events_checked"] for p in found) == store.count()
    afters = [p["cursor"]["after"] for p in found if p["cursor"] and p["cursor"]["phase"] == "chains"]
    assert afters == sorted(set(afters))  # cursors only move forward
    for after in afters:  # a page ends after a whole stream: the stream named by its cursor is not split
        assert after in expected or after > max(expected)
    assert all(p["broken"] == [] for p in found)
    whole = verify_chains(store)
    assert (whole["streams_checked"], whole["events_checked"], whole["broken"]) == (STREAMS, store.count(), [])


def test_a_page_stops_at_the_first_stream_boundary_after_its_time_budget(store):
    first = verify_chains_page(store, None, budget_events=None, budget_seconds=0)
    assert not first["done"] and first["streams_checked"] == 1  # one whole stream, then the boundary
    assert first["events_checked"] == streams_of(store)[first["cursor"]["after"]]


def test_a_tampered_event_is_reported_once_with_its_reason_and_a_removed_one_is_found(store):
    store.events.update_one({"stream": "s-0043", "version": 2}, {"$set": {"data.n": 999}})
    store.events.delete_one({"stream": "s-0087", "version": 2})  # the middle of a 4-event stream
    broken = [item for page in pages(store, budget=20) for item in page["broken"]]
    assert [b for b in broken if b["stream"] == "s-0043"] == [
        {"stream": "s-0043", "version": 2, "reason": "hash_mismatch"}]
    assert {"stream": "s-0087", "version": 3, "reason": "missing_event"} in broken
    assert any(b["reason"] == "sequenced_event_missing" and b["stream"] == "s-0087" for b in broken)
    assert sorted(map(str, broken)) == sorted(map(str, verify_chains(store)["broken"]))


def test_the_audits_own_job_streams_are_checked_but_not_counted(store):
    own = f"job-identity-audit-{uuid.uuid4().hex}"
    store.append(own, 0, [NewEvent("JobQueued", {"kind": "audit_verify"}), NewEvent("JobStarted")])
    Sequencer(store).run_once()
    report = verify_chains(store)
    assert (report["streams_checked"], report["events_checked"], report["broken"]) == (STREAMS, store.count() - 2, [])
    store.events.update_one({"stream": own, "version": 2}, {"$set": {"type": "JobFinished"}})
    assert {"stream": own, "version": 2, "reason": "hash_mismatch"} in verify_chains(store)["broken"]


def test_the_sequence_check_pages_through_its_blocks_and_finds_what_the_whole_check_finds(store, monkeypatch):
    monkeypatch.setattr(sequence, "BLOCKS_PER_READ", 1)
    assert store.db[COLLECTION].count_documents({}) == 4
    block = store.db[COLLECTION].find_one({"_id": 2})
    store.events.delete_one({"_id": block["entries"][0][0]})
    state, found, calls = start_check(store), [], 0
    while state is not None:
        page, state = check_page(store, state, budget=1)
        found += page
        calls += 1
    assert calls >= 4  # a block a page, at least
    assert found == check(store) and [b["reason"] for b in found] == ["sequenced_event_missing"]
