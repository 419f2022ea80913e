"""Everything of forms that does I/O, and `Deps`: what the use cases are handed."""
from __future__ import annotations

from dataclasses import dataclass

from forms.adapters.projections import ReadModels
from forms.adapters.repository import FormRepository, campaigns
from forms.domain import Campaign
from forms.settings import Settings
from pupns.eventstore import EventStore
from pupns.personal import FieldCodec
from pupns.personal.provider import default_codec
from pupns.repository import Repository


@dataclass(frozen=True)
class Deps:
    """The repositories, read models and settings forms' commands work with."""

    forms: FormRepository
    campaign: Repository[Campaign]
    read: ReadModels
    settings: Settings
    codec: FieldCodec  # seals personal fields before an append, opens them for the PNS and staff

    @classmethod
    def of(cls, store: EventStore, settings: Settings | None = None, codec: FieldCodec | None = None) -> Deps:
        """Wire the adapters over one event store (the service does this per worker, tests per test); the codec
        of the environment's key store unless given."""
        return cls(FormRepository(store), campaigns(store), ReadModels(store.db), settings or Settings(),
                   codec or default_codec())
