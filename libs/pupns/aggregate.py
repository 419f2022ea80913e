"""A minimal event-sourced aggregate base (pyeventsourcing style), free of any framework."""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar


class DomainEvent:
    """Base of an aggregate's events: frozen dataclasses whose class name is the stored type."""

    SCHEMA_VERSION: ClassVar[int] = 1  # stored as the event's schema_version; bump when the data shape changes

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DomainEvent:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


class DomainError(Exception):
    """A command refused by a rule; `code` is the spec's error code."""

    def __init__(self, code: str, fields: dict[str, list[str]] | None = None, extra: dict | None = None):
        self.code, self.fields, self.extra = code, fields, extra or {}
        super().__init__(code)


class Aggregate:
    """State rebuilt from events; commands check rules, then `trigger` events (applied and kept pending)."""

    EVENTS: ClassVar[tuple[type[DomainEvent], ...]] = ()
    # The attributes `apply` changes, in full: what a snapshot keeps (pupns.snapshots). Empty: never snapshotted.
    SNAPSHOT_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, id: str) -> None:
        self.id = id
        self.version = 0
        self.head_hash: str | None = None  # the stored stream's last link, set by whoever loads it (saves a read)
        self.head_position: int | None = None  # that event's global position
        self.pending: list[DomainEvent] = []
        self.snapshot_version = 0  # the version of the snapshot it was loaded from (0: none; pupns.snapshots)

    @classmethod
    def event_class(cls, type_name: str) -> type[DomainEvent] | None:
        return next((e for e in cls.EVENTS if e.type_name() == type_name), None)

    def apply_stored(self, type_name: str, data: dict[str, Any], version: int) -> None:
        """Apply one stored event (unknown types are skipped, not fatal)."""
        event_class = self.event_class(type_name)
        if event_class is not None:
            self.apply(event_class.from_data(data))
        self.version = version

    @classmethod
    def load(cls, id: str, docs: list[dict]) -> Aggregate:
        aggregate = cls(id)
        aggregate.apply_all(docs)
        return aggregate

    def apply_all(self, docs: list[dict]) -> None:
        """Apply stored events in version order."""
        for doc in docs:
            self.apply_stored(doc["type"], doc["data"], doc["version"])

    def snapshot_state(self) -> dict[str, Any]:
        """The state `apply` has built (SNAPSHOT_FIELDS), for a snapshot taken at `version`."""
        return {name: getattr(self, name) for name in self.SNAPSHOT_FIELDS}

    @classmethod
    def from_snapshot(cls, id: str, state: dict[str, Any], version: int) -> Aggregate:
        """The aggregate as its events up to `version` built it, from a snapshot of that state."""
        aggregate = cls(id)
        for name in cls.SNAPSHOT_FIELDS:
            setattr(aggregate, name, state[name])
        aggregate.version = version
        return aggregate

    def trigger(self, event: DomainEvent) -> None:
        self.apply(event)
        self.pending.append(event)

    def apply(self, event: DomainEvent) -> None:  # pragma: no cover - every aggregate overrides
        raise NotImplementedError
