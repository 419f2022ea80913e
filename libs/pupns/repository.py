"""Load and save event-sourced aggregates with a real optimistic concurrency check."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pymongo.client_session import ClientSession

from pupns.aggregate import Aggregate, DomainEvent
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent
from pupns.snapshots import Snapshots

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")
Projection = Callable[[list[dict], ClientSession], None]
Meta = dict[str, Any] | Callable[[Any], dict[str, Any]]


def rerun_on_collision(attempt: Callable[[], R], attempts: int, first_pause: float, max_pause: float) -> R:
    """Run `attempt`; when its append collided with another writer's (ConcurrencyError), wait a random pause that
    doubles up to `max_pause` and run it again, up to `attempts` runs in all; the last collision is raised.

    While the other writer's transaction is still open a reload shows the old state, so an immediate rerun would
    collide again; the random pauses also pull apart two appends that abort each other."""
    for attempt_no in range(attempts):
        try:
            return attempt()
        except ConcurrencyError:
            if attempt_no == attempts - 1:
                raise
            time.sleep(collision_pause(attempt_no, first_pause, max_pause))  # green under nameko: this worker only
    raise AssertionError("unreachable")  # pragma: no cover


def collision_pause(attempt_no: int, first_pause: float, max_pause: float) -> float:
    """Seconds to wait after the n-th (from 0) colliding run: random, doubling, capped."""
    return random.uniform(first_pause / 2, min(max_pause, first_pause * 2 ** attempt_no))


def new_event(event: DomainEvent) -> NewEvent:
    """The event store's form of a typed domain event (type name, data, schema version)."""
    return NewEvent(event.type_name(), event.to_data(), event.SCHEMA_VERSION)


class Repository(Generic[A]):
    """Aggregates of one type, one stream each: `get`, `save` after the loaded version, `run` with retries."""

    def __init__(self, store: EventStore, aggregate: type[A], stream_of: Callable[[str], str], *,
                 projector: Projection | None = None, nip_of: Callable[[A], str | None] | None = None,
                 instansi_of: Callable[[A], str | None] | None = None, snapshots: Snapshots | None = None):
        self.store, self.aggregate, self.stream_of = store, aggregate, stream_of
        self.projector, self.snapshots = projector, snapshots
        self.nip_of = nip_of or (lambda a: getattr(a, "nip", None))
        self.instansi_of = instansi_of or (lambda a: getattr(a, "instansi_kode", None))

    def get(self, id: str) -> A:
        """The aggregate rebuilt from its stream (a fresh one at version 0 when the stream is empty): from its
        snapshot and the events after it, when the repository keeps snapshots and one fits."""
        stream = self.stream_of(id)
        snapshot = self.snapshots.latest(stream) if self.snapshots is not None else None
        if snapshot is None:
            aggregate = self.aggregate.load(id, docs := self.store.read_stream(stream))
        else:
            aggregate = self.aggregate.from_snapshot(id, snapshot["state"], snapshot["version"])
            aggregate.snapshot_version = snapshot["version"]
            aggregate.head_hash, aggregate.head_position = snapshot["head_hash"], snapshot["head_position"]
            aggregate.apply_all(docs := self.store.read_stream(stream, after=snapshot["version"]))
        if docs:
            aggregate.head_hash, aggregate.head_position = docs[-1]["hash"], docs[-1]["position"]
        return aggregate  # type: ignore[return-value]

    def new(self, id: str) -> A:
        """The aggregate as a stream never written would give it, without reading (saving it fails with a
        ConcurrencyError if the stream exists: "try as new first" where new is the common case)."""
        return self.aggregate.load(id, [])  # type: ignore[return-value]

    def save(self, aggregate: A, meta: dict[str, Any], *, idempotency_key: str | None = None,
             idempotency_result: Any = None) -> list[dict]:
        """Append the pending events after the version the aggregate was loaded at (ConcurrencyError if the
        stream moved meanwhile); the projector runs in the same transaction. Returns the stored documents."""
        if not aggregate.pending:
            return []
        events = [new_event(e) for e in aggregate.pending]
        docs = self.store.append(self.stream_of(aggregate.id), aggregate.version, events, meta,
                                 nip=self.nip_of(aggregate), instansi_kode=self.instansi_of(aggregate),
                                 idempotency_key=idempotency_key, idempotency_result=idempotency_result,
                                 projection=self.projector, head_hash=aggregate.head_hash,
                                 head_position=aggregate.head_position)
        aggregate.version, aggregate.head_hash, aggregate.head_position = (docs[-1][k] for k in
                                                                           ("version", "hash", "position"))
        aggregate.pending = []
        if self.snapshots is not None and self.snapshots.due(aggregate.snapshot_version, aggregate.version):
            self.snapshots.keep(self.stream_of(aggregate.id), aggregate.version, aggregate.head_hash,
                                aggregate.head_position, aggregate.snapshot_state())
            aggregate.snapshot_version = aggregate.version
        return docs

    def run(self, id: str, command: Callable[[A], R], meta: Meta, *, attempts: int = 3,
            idempotency_key: str | None = None) -> R:
        """Get, run `command(aggregate)`, save; when another writer got there first, get again and rerun the
        command on the new state (its rules are checked again), up to `attempts` times."""
        for attempt in range(1, attempts + 1):
            aggregate = self.get(id)
            result = command(aggregate)
            try:
                self.save(aggregate, meta(aggregate) if callable(meta) else meta, idempotency_key=idempotency_key)
                return result
            except ConcurrencyError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
