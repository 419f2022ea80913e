"""Everything of verification that does I/O, and `Deps`: what the use cases are handed."""
from __future__ import annotations

from dataclasses import dataclass

from pupns.eventstore import EventStore
from pupns.repository import Repository
from verification.adapters.projections import ReadModels
from verification.adapters.repository import SubmissionRepository, registrations
from verification.domain import Registration
from verification.settings import Settings


@dataclass(frozen=True)
class Deps:
    """The repositories, read models and settings verification's commands work with."""

    registrations: Repository[Registration]
    submissions: SubmissionRepository
    read: ReadModels
    settings: Settings

    @classmethod
    def of(cls, store: EventStore, settings: Settings | None = None) -> Deps:
        """Wire the adapters over one event store (the service does this per worker, tests per test)."""
        return cls(registrations(store), SubmissionRepository(store), ReadModels(store.db), settings or Settings())
