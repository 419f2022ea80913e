"""Group commit: appends that no caller waits for, stored together in one transaction per interval.

The first user is an e-mail's outcome (EmailSent): the worker that handed the e-mail to SMTP does not wait for
its record. The `Store` dependency commits what gathered every interval, and once more before its client closes
at stop. Many outcomes then cost one position reservation, one session and one commit instead of one each.

A part whose stream moved since its caller read it is left out and decided again by its `on_conflict`; the
others commit without it. Parts gathered by a process that dies before the next flush are not stored: an
e-mail's stays leased to the dead worker and is tried again when the lease runs out (one more copy of the same
message, under the same Message-ID), as when a process died between the SMTP hand-off and the record before.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pupns.eventstore import ConcurrencyError, EventStore, Projection, StreamAppend

log = logging.getLogger(__name__)
MAX_BATCH = 100  # parts per transaction: a backlog is committed in pieces of this size


@dataclass(frozen=True)
class Deferred:
    """One stream's events waiting for the next flush, the projection to run with them, and what to do when the
    stream moved meanwhile."""

    part: StreamAppend
    projection: Projection | None
    on_conflict: Callable[[], object]


def projection_key(projection: Projection | None) -> tuple:
    """Parts whose projections are the same function of the same class are committed with either one (each
    worker builds its own projector over the same database)."""
    owner = getattr(projection, "__self__", None)
    return getattr(projection, "__func__", projection), type(owner), getattr(owner, "db", None)


class GroupCommit:
    """Gathers deferred appends of one EventStore and commits them together on `flush`."""

    def __init__(self, store: EventStore, max_batch: int = MAX_BATCH):
        self.store, self.max_batch = store, max_batch
        self._pending: list[Deferred] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: the stop's waits for the timer's to end

    def add(self, part: StreamAppend, projection: Projection | None, on_conflict: Callable[[], object]) -> None:
        """Defer `part` to the next flush."""
        with self._lock:
            self._pending.append(Deferred(part, projection, on_conflict))

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Commit everything gathered (in transactions of up to `max_batch` streams); returns how many parts were
        stored here (a conflicting part is handed to its `on_conflict` instead). On a store error the batch goes
        back to the front of the line and the error is raised: the next flush tries it again."""
        stored = 0
        with self._flushing:
            while batch := self._take():
                try:
                    stored += self._commit(batch)
                except Exception:
                    with self._lock:
                        self._pending[:0] = batch
                    raise
        return stored

    def _take(self) -> list[Deferred]:
        """The next batch: one part per stream (a stream's later part waits for the next batch)."""
        with self._lock:
            batch, rest, streams = [], [], set()
            for deferred in self._pending:
                if len(batch) < self.max_batch and deferred.part.stream not in streams:
                    batch.append(deferred)
                    streams.add(deferred.part.stream)
                else:
                    rest.append(deferred)
            self._pending = rest
        return batch

    def _commit(self, batch: list[Deferred]) -> int:
        groups: dict[tuple, list[Deferred]] = {}
        for deferred in batch:
            groups.setdefault(projection_key(deferred.projection), []).append(deferred)
        stored = 0
        for group in groups.values():
            try:
                self.store.append_many([d.part for d in group], projection=group[0].projection)
                stored += len(group)
            except ConcurrencyError:  # one stream moved: the others go alone, that one is decided again
                stored += sum(self._commit_alone(deferred) for deferred in group)
        return stored

    def _commit_alone(self, deferred: Deferred) -> int:
        try:
            self.store.append_many([deferred.part], projection=deferred.projection)
            return 1
        except ConcurrencyError:
            try:
                deferred.on_conflict()
            except Exception:  # the record is retried by its own lease (see the module's docstring)
                log.exception("a deferred append's stream %s moved, and deciding it again failed",
                              deferred.part.stream)
            return 0
