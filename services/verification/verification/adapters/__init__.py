"""Everything of verification that does I/O, and `Deps`: what the use cases are handed."""
from __future__ import annotations

from dataclasses import dataclass

from pupns.eventstore import EventStore
from pupns.personal import FieldCodec
from pupns.personal.provider import default_codec
from pupns.repository import Repository
from verification.adapters.projections import ReadModels
from verification.adapters.repository import SubmissionRepository, registrations, subscriber_grants
from verification.domain import Registration
from verification.domain.grants import SubscriberGrants
from verification.settings import Settings


@dataclass(frozen=True)
class Deps:
    """The repositories, read models and settings verification's commands work with."""

    registrations: Repository[Registration]
    submissions: SubmissionRepository
    read: ReadModels
    settings: Settings
    codec: FieldCodec  # seals what arrives in clear before an append, opens it for verifiers and admins
    grants: Repository[SubscriberGrants]

    @classmethod
    def of(cls, store: EventStore, settings: Settings | None = None, codec: FieldCodec | None = None) -> Deps:
        """Wire the adapters over one event store (the service does this per worker, tests per test); the codec
        of the environment's key store unless given."""
        return cls(registrations(store), SubmissionRepository(store), ReadModels(store.db), settings or Settings(),
                   codec or default_codec(), subscriber_grants(store))
