"""What a process has published, kept without a write per event (issue 9: the outbox's marks).

Marking each published event costs the local store about as much as inserting it (an update of the document
and of the outbox index, ~1 ms an event, measured). A service process that owns a relay publishes what it appends
itself, at once and in position order (pupns.relay). So its events carry its `origin` instead of the outbox flag,
and it keeps one record in `outbox_origins`:
- `through`: every event it appended at or below this position is published;
- `seen_at`: refreshed at least every HEARTBEAT_SECONDS.
A live process writes its record once per interval, however many events it publishes.

A process that dies leaves its record behind. Once `seen_at` is older than DEAD_AFTER, any live relay of the
service publishes that origin's events above `through` (some a second time: consumers dedupe by event id), moves
`through` on, and deletes the record when nothing is left above it. A process stalled for longer than DEAD_AFTER
counts as dead: its events may be published twice, never lost (its next refresh writes its own `through` again).

An append that raised may still have been stored (a network error after the store committed it). Its positions
stay open, and after DOUBT_SECONDS one read by id says whether to publish it.

Events appended by a process without a relay (a CLI tool, a test) carry the outbox flag `published: False`; any
relay's scan finds them on the flag's partial index and marks them (EventStore.unpublished/mark_published).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from pymongo.collection import Collection
from pymongo.database import Database

ORIGINS = "outbox_origins"
HEARTBEAT_SECONDS = 3.0  # a live process refreshes its record at least this often
DEAD_AFTER = 10.0  # a record not refreshed for this long is a dead process's: survivors publish its events
DOUBT_SECONDS = 5.0  # after this long a failed append's insert is surely over: read whether it landed


class OwnOutbox:
    """This process's unpublished positions and its record in `outbox_origins`."""

    def __init__(self, db: Database, origin: str, clock: Callable[[], float] = time.time,
                 mark_seconds: float = 1.0) -> None:
        self.records: Collection = db[ORIGINS]
        self.origin, self.clock, self.mark_seconds = origin, clock, mark_seconds
        self._lock = threading.Lock()
        self._open: set[int] = set()  # positions taken by an append, not yet published or known unused
        self._doubts: list[tuple[float, list[dict]]] = []  # (when, docs) of appends that raised
        self._last_taken = 0
        self._written: tuple[int, float] = (-1, float("-inf"))  # through and time of the last record write
        # Set when this process's own unpublished events no longer all fit in memory (EventStore.FRESH_MAX, a long
        # broker outage): its relay then reads them back from the store, above `through`, until it has caught up.
        self.spilled = False

    def start(self, after: int) -> None:
        """Register this process: every position it will take lies above `after` (the counter as read now)."""
        self._last_taken = after
        self.beat(force=True)

    def taken(self, first: int, count: int) -> None:
        """An append is about to store events at positions first .. first + count - 1."""
        with self._lock:
            self._open.update(range(first, first + count))
            self._last_taken = max(self._last_taken, first + count - 1)

    def failed(self, docs: list[dict]) -> None:
        """The append of `docs` raised: whether they were stored is read after DOUBT_SECONDS (`due_doubts`)."""
        with self._lock:
            self._doubts.append((self.clock(), docs))

    def release(self, positions: Iterable[int]) -> None:
        """These positions are published, or known to hold nothing."""
        with self._lock:
            self._open.difference_update(positions)

    def due_doubts(self) -> list[dict]:
        """The docs of failed appends old enough to read back; the caller publishes those found and releases the
        positions of the rest."""
        with self._lock:
            cutoff = self.clock() - DOUBT_SECONDS
            due = [docs for at, docs in self._doubts if at <= cutoff]
            self._doubts = [(at, docs) for at, docs in self._doubts if at > cutoff]
        return [doc for docs in due for doc in docs]

    def through(self) -> int:
        """Every position this process took at or below this is published (or holds nothing)."""
        with self._lock:
            return min(self._open) - 1 if self._open else self._last_taken

    def beat(self, force: bool = False) -> None:
        """Write the record if `through` moved (at most once per mark interval) or the heartbeat is due."""
        through, now = self.through(), self.clock()
        last_through, last_at = self._written
        due = now - last_at >= HEARTBEAT_SECONDS or (through != last_through and now - last_at >= self.mark_seconds)
        if force or due:
            # $set, not $max: a survivor may have moved `through` past an event this process (stalled, not dead)
            # stored late and has not published yet; the process's own figure puts it back in reach.
            self.records.update_one({"_id": self.origin}, {"$set": {"through": through, "seen_at": now}},
                                    upsert=True)
            self._written = (through, now)

    def stop(self) -> None:
        """At a clean stop: nothing left unpublished, no record (else it stays for the survivors)."""
        with self._lock:
            settled = not self._open and not self._doubts
        if settled:
            self.records.delete_one({"_id": self.origin})
        else:
            self.beat(force=True)

    # -- a survivor's side --------------------------------------------------------
    def dead_origins(self) -> list[dict]:
        """Records of other processes not refreshed for DEAD_AFTER."""
        return list(self.records.find({"seen_at": {"$lt": self.clock() - DEAD_AFTER}, "_id": {"$ne": self.origin}}))

    def advance(self, record: dict, through: int) -> None:
        """A dead origin's events up to `through` are published. Matched on `seen_at`: a record refreshed since
        belongs to its live owner again."""
        self.records.update_one({"_id": record["_id"], "seen_at": record["seen_at"]}, {"$max": {"through": through}})

    def retire(self, record: dict) -> None:
        """Nothing of a dead origin is left above its `through`: forget it (unless refreshed or moved since)."""
        self.records.delete_one({"_id": record["_id"], "seen_at": record["seen_at"], "through": record["through"]})
