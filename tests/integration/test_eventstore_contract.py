"""The event store's contract, against the real MongoDB-compatible server."""
from __future__ import annotations

import threading

import pytest

from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent, StreamAppend, event_hash
from pupns.integrity import verify_chains
from pupns.sequence import Sequencer


@pytest.fixture
def store(store_for):
    return store_for("contract")


def test_append_then_read_stream_in_version_order(store):
    store.append("s-1", 0, [NewEvent("A", {"n": 1})], {"actor": "x"}, nip="1")
    store.append("s-1", 1, [NewEvent("B", {"n": 2}), NewEvent("C", {"n": 3})], nip="1")
    events = store.read_stream("s-1")
    assert [(e["version"], e["type"], e["data"]["n"]) for e in events] == [(1, "A", 1), (2, "B", 2), (3, "C", 3)]
    assert events[0]["meta"]["actor"] == "x" and events[0]["meta"]["occurred_at"]
    assert store.stream_version("s-1") == 3


def test_stale_version_raises_and_writes_nothing(store):
    store.append("s-2", 0, [NewEvent("A")])
    before = store.count()
    with pytest.raises(ConcurrencyError):
        store.append("s-2", 0, [NewEvent("B"), NewEvent("C")])
    assert store.count() == before
    assert store.stream_version("s-2") == 1


def test_concurrent_appends_at_same_version_let_exactly_one_win(store):
    store.append("s-3", 0, [NewEvent("Opened")])
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def contender(i: int) -> None:
        barrier.wait()
        try:
            store.append("s-3", 1, [NewEvent("Won", {"by": i}), NewEvent("Also", {"by": i})])
            outcomes.append("ok")
        except ConcurrencyError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    events = store.read_stream("s-3")
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[1]["data"]["by"] == events[2]["data"]["by"]  # the batch landed whole, from one writer


def test_batch_is_atomic_when_the_projection_fails(store):
    def failing_projection(docs, session):
        raise RuntimeError("read model write failed")

    with pytest.raises(RuntimeError):
        store.append("s-4", 0, [NewEvent("A"), NewEvent("B")], projection=failing_projection)
    assert store.read_stream("s-4") == [] and store.stream_version("s-4") == 0


def test_projection_writes_in_the_same_transaction(store):
    def project(docs, session):
        store.db["model"].insert_one({"_id": docs[-1]["stream"], "v": docs[-1]["version"]}, session=session)

    store.append("s-5", 0, [NewEvent("A"), NewEvent("B")], projection=project)
    assert store.db["model"].find_one({"_id": "s-5"})["v"] == 2


def test_idempotency_key_applies_once_and_returns_the_first_result(store):
    store.append("s-6", 0, [NewEvent("A")], idempotency_key="k1", idempotency_result={"answer": 1})
    with pytest.raises(AlreadyApplied) as seen:
        store.append("s-6", 1, [NewEvent("A")], idempotency_key="k1", idempotency_result={"answer": 2})
    assert seen.value.result == {"answer": 1}
    assert len(store.read_stream("s-6")) == 1


def test_read_after_position_gives_global_order(store):
    store.append("a", 0, [NewEvent("A1")])
    mark = store.read_stream("a")[0]["position"]
    store.append("b", 0, [NewEvent("B1")])
    store.append("a", 1, [NewEvent("A2")])
    assert [e["type"] for e in store.read_after(mark)] == ["B1", "A2"]
    assert [e["type"] for e in store.iterate_all(batch=1)] == ["A1", "B1", "A2"]


def test_read_by_nip_spans_streams(store):
    store.append("x-1", 0, [NewEvent("A")], nip="199001012015011001")
    store.append("y-1", 0, [NewEvent("B")], nip="199001012015011001")
    store.append("z-1", 0, [NewEvent("C")], nip="other")
    assert [e["type"] for e in store.read_by_nip("199001012015011001")] == ["A", "B"]


def test_events_are_hash_chained(store):
    store.append("h", 0, [NewEvent("A", {"v": 1}), NewEvent("B", {"v": 2})])
    first, second = store.read_stream("h")
    assert second["prev_hash"] == first["hash"] and first["hash"] == event_hash(first)
    report = verify_chains(store)
    assert report["broken"] == [] and report["events_checked"] == 2 and report["streams_checked"] == 1


def test_verify_detects_an_altered_event(store):
    store.append("h", 0, [NewEvent("A", {"amount": 1}), NewEvent("B")])
    store.events.update_one({"stream": "h", "version": 1}, {"$set": {"data.amount": 1000}})
    assert {"stream": "h", "version": 1, "reason": "hash_mismatch"} in verify_chains(store)["broken"]


def test_a_rewritten_event_with_its_chain_recomputed_by_the_public_hash_is_still_detected(store):
    """A database writer rewrites an event and recomputes the whole chain and head with plain SHA-256 (all it can
    do without the audit key, which is held outside the database): the keyed chain does not verify."""
    import hashlib

    from pupns.eventstore import GENESIS_HASH, canonical_json

    def public_hash(doc: dict) -> str:
        covered = {k: doc.get(k) for k in ("_id", "stream", "version", "type", "schema_version", "data", "meta",
                                           "nip", "instansi_kode", "prev_hash")}
        return hashlib.sha256(canonical_json(covered).encode()).hexdigest()

    store.append("pay", 0, [NewEvent("Paid", {"amount": 1}), NewEvent("Noted")])
    prev = GENESIS_HASH
    for doc in store.read_stream("pay"):
        doc["data"] = {"amount": 1000} if doc["version"] == 1 else doc["data"]
        doc["prev_hash"] = prev
        doc["hash"] = prev = public_hash(doc)
        store.events.replace_one({"_id": doc["_id"]}, doc)
    broken = verify_chains(store)["broken"]
    assert {"stream": "pay", "version": 1, "reason": "hash_mismatch"} in broken


def test_verify_detects_a_removed_event_in_the_middle_and_at_the_end(store):
    """The chain shows a hole in the middle of a stream; the sequence (pupns.sequence) a stream cut short."""
    store.append("m", 0, [NewEvent("A"), NewEvent("B"), NewEvent("C")])
    store.append("t", 0, [NewEvent("A"), NewEvent("B")])
    Sequencer(store).run_once()
    store.events.delete_one({"stream": "m", "version": 2})
    store.events.delete_one({"stream": "t", "version": 2})
    reasons = {(b["stream"], b["reason"]) for b in verify_chains(store)["broken"]}
    assert ("m", "missing_event") in reasons
    assert ("t", "sequenced_event_missing") in reasons


def test_verify_detects_a_whole_stream_removed(store):
    store.append("gone", 0, [NewEvent("A")])
    Sequencer(store).run_once()
    store.events.delete_many({"stream": "gone"})
    assert {"stream": "gone", "version": 1, "reason": "sequenced_event_missing"} in [
        {k: b[k] for k in ("stream", "version", "reason")} for b in verify_chains(store)["broken"]]


def test_verify_does_not_report_streams_appended_to_while_it_runs(store):
    store.append("busy", 0, [NewEvent("A")])
    Sequencer(store).run_once()
    events = store.events

    class EventsReadJustBeforeAnAppend:
        def find(self, *args, **kwargs):
            store.events = events
            store.append("busy", 1, [NewEvent("B")])  # lands while the chains are being read
            store.append("fresh", 0, [NewEvent("A")])
            return events.find(*args, **kwargs)

    store.events = EventsReadJustBeforeAnAppend()
    report = verify_chains(store)
    assert report["broken"] == [] and report["events_checked"] == 3


def test_outbox_lists_unpublished_until_marked(store):
    store.append("o", 0, [NewEvent("A"), NewEvent("B")])
    pending = store.unpublished()
    assert [e["type"] for e in pending] == ["A", "B"]
    store.mark_published([pending[0]["_id"]])
    assert [e["type"] for e in store.unpublished()] == ["B"]


def test_append_many_lands_every_stream_in_one_transaction(store):
    store.append("p-2", 0, [NewEvent("Existing")])
    docs = store.append_many([StreamAppend("p-1", 0, [NewEvent("A")], nip="1"),
                              StreamAppend("p-2", 1, [NewEvent("B"), NewEvent("C")], nip="2")], {"actor": "bulk"})
    assert [d["stream"] for d in docs] == ["p-1", "p-2", "p-2"]
    assert [d["position"] for d in docs] == sorted(d["position"] for d in docs)
    assert store.stream_version("p-1") == 1 and store.stream_version("p-2") == 3
    assert verify_chains(store)["broken"] == []


def test_append_many_writes_nothing_when_one_stream_is_stale(store):
    store.append("q-2", 0, [NewEvent("Existing")])
    before = store.count()
    with pytest.raises(ConcurrencyError):
        store.append_many([StreamAppend("q-1", 0, [NewEvent("A")]), StreamAppend("q-2", 0, [NewEvent("B")])])
    assert store.count() == before and store.stream_version("q-1") == 0


def test_replicas_starting_together_both_set_up_the_same_fresh_store(mongo_client, db_prefix):
    """Two replicas of a service start at once on a fresh database: neither may fail creating its collections."""
    db = mongo_client[db_prefix + "racing_start"]
    barrier, failures = threading.Barrier(4), []

    def start() -> None:
        store = EventStore(db, "racing_start")
        barrier.wait()
        try:
            store.ensure_indexes()
        except Exception as exc:  # noqa: BLE001 - any failure is what the test looks for
            failures.append(exc)
    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert {"events", "applied_keys", "counters"} <= set(db.list_collection_names())


def test_concurrent_appends_from_several_processes_never_share_a_position(store):
    """Positions come from blocks reserved by an atomic increment before each transaction: appends of several
    processes (as replicas) and conflicting appends never repeat one; a conflicting append leaves its positions
    unused."""
    other = EventStore(store.db, store.service)  # a second "process"
    store.append("shared", 0, [NewEvent("Opened")])
    barrier = threading.Barrier(6)

    def contender(i: int) -> None:
        mine = store if i % 2 else other
        barrier.wait()
        for n in range(5):
            mine.append(f"own-{i}", n, [NewEvent("Added", {"n": n})])
        with pytest.raises(ConcurrencyError):  # stale: writes nothing
            mine.append("shared", 0, [NewEvent("Late")])

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    positions = [e["position"] for e in store.iterate_all()]
    assert len(positions) == 31 and len(set(positions)) == 31 and positions == sorted(positions)
    assert verify_chains(store)["broken"] == []


def test_an_append_chained_to_a_hash_the_caller_read_needs_no_head_read_and_still_refuses_a_moved_stream(store):
    first = store.append("known", 0, [NewEvent("A")])[-1]
    reads: list[object] = []
    original = store.stream_heads
    store.stream_heads = lambda streams: (reads.append(streams), original(streams))[1]
    second = store.append("known", 1, [NewEvent("B")], head_hash=first["hash"])[-1]
    assert reads == [] and second["prev_hash"] == first["hash"]
    with pytest.raises(ConcurrencyError):  # read at version 1, the stream is at 2 now: (known, 2) collides
        store.append("known", 1, [NewEvent("C")], head_hash=first["hash"])
    store.stream_heads = original
    assert [e["type"] for e in store.read_stream("known")] == ["A", "B"] and verify_chains(store)["broken"] == []


def test_an_append_without_the_head_hash_reads_the_event_it_follows_by_its_version(store):
    """One point read of (stream, expected version), not of the newest event (which costs the local stand-in a
    read of the whole stream); a stream ahead of or behind the expected version is refused all the same."""
    store.append("s", 0, [NewEvent("A"), NewEvent("B")])
    newest_reads: list[object] = []
    original = store.stream_heads
    store.stream_heads = lambda streams: (newest_reads.append(streams), original(streams))[1]
    with pytest.raises(ConcurrencyError) as ahead:
        store.append("s", 3, [NewEvent("C")])  # ahead of the stream: refused, no hole in it
    assert (ahead.value.expected_version, ahead.value.actual_version) == (3, 2)  # read for the refusal only
    newest_reads.clear()
    with pytest.raises(ConcurrencyError):
        store.append("s", 1, [NewEvent("C")])  # behind it: (s, 2) collides at the insert
    store.append("s", 2, [NewEvent("C")])
    assert newest_reads == []
    store.stream_heads = original
    newest = store.read_stream("s")[-1]
    assert store.stream_version("s") == 3 and store.stream_heads(["s", "none"]) == {
        "s": {"version": 3, "hash": newest["hash"], "position": newest["position"]}}
    assert verify_chains(store)["broken"] == []
