"""pupns.snapshots through pupns.repository, on the real store: a snapshot shortens a load and never changes what
the load gives."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from pupns.aggregate import Aggregate, DomainEvent
from pupns.integrity import verify_chains
from pupns.repository import Repository
from pupns.snapshots import COLLECTION, Snapshots


@dataclass(frozen=True)
class Added(DomainEvent):
    by: int
    note: str = ""


class Tally(Aggregate):
    """A running total with the notes of every addition."""

    EVENTS = (Added,)
    SNAPSHOT_FIELDS = ("total", "notes")

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.total, self.notes, self.nip = 0, [], id

    def add(self, by: int, note: str = "") -> None:
        self.trigger(Added(by, note))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, Added):
            self.total += event.by
            self.notes = [*self.notes, event.note]


@pytest.fixture
def store(store_for):
    return store_for("snapshots")


def repository(store, code: str = "v1", every: int = 10) -> Repository[Tally]:
    return Repository(store, Tally, lambda id: f"tally-{id}", snapshots=Snapshots(store.db, code, every))


def add_times(repo: Repository[Tally], id: str, times: int) -> None:
    for n in range(times):
        repo.run(id, lambda tally, n=n: tally.add(n, f"n{n}"), {})


def reads_after(store) -> list[int]:
    """Record the `after` of every read_stream call the store takes from now on."""
    seen: list[int] = []
    read = store.read_stream

    def recording(stream: str, after: int = 0) -> list[dict]:
        seen.append(after)
        return read(stream, after)

    store.read_stream = recording
    return seen


def state(tally: Tally) -> tuple:
    return tally.total, tally.notes, tally.version, tally.head_hash, tally.head_position


def test_a_load_from_the_snapshot_reads_only_later_events_and_gives_what_the_whole_stream_gives(store):
    repo = repository(store)
    add_times(repo, "a", 25)
    kept = store.db[COLLECTION].find_one({"_id": "tally-a"})
    assert kept["version"] == 20 and kept["state"]["total"] == sum(range(20))
    seen = reads_after(store)
    loaded = repo.get("a")
    assert seen == [20]
    whole = Repository(store, Tally, lambda id: f"tally-{id}").get("a")
    assert state(loaded) == state(whole) and loaded.total == sum(range(25))


def test_saves_after_a_snapshot_load_keep_the_chain_whole(store):
    repo = repository(store, every=5)
    add_times(repo, "b", 5)  # a snapshot at version 5 with no event after it: the head comes from the snapshot
    assert repo.get("b").head_hash == store.read_stream("tally-b")[-1]["hash"]
    add_times(repo, "b", 7)
    report = verify_chains(store)
    assert report["broken"] == [] and report["events_checked"] == 12
    assert store.db[COLLECTION].find_one({"_id": "tally-b"})["version"] == 10


def test_a_snapshot_of_other_code_is_ignored(store):
    add_times(repository(store, code="old"), "c", 12)
    seen = reads_after(store)
    assert repository(store, code="new").get("c").total == sum(range(12))
    assert seen == [0]


def test_a_snapshot_altered_in_the_database_is_ignored(store):
    repo = repository(store)
    add_times(repo, "d", 10)
    store.db[COLLECTION].update_one({"_id": "tally-d"}, {"$set": {"state.total": 1_000_000}})
    seen = reads_after(store)
    assert repo.get("d").total == sum(range(10)) and seen == [0]


def test_an_older_snapshot_never_replaces_a_newer_one(store):
    repo = repository(store, every=3)
    add_times(repo, "e", 9)
    Snapshots(store.db, "v1", 3).keep("tally-e", 3, None, None, {"total": -1, "notes": []})
    assert store.db[COLLECTION].find_one({"_id": "tally-e"})["version"] == 9
    assert repo.get("e").total == sum(range(9))
