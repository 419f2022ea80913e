"""Everything with I/O (read models, projections, operational state, public events), and `Deps`: what identity's
use cases are given, wired by the composition root (`identity.wiring`) for each call and by tests per test."""
from __future__ import annotations

from dataclasses import dataclass

from identity.adapters.operational import LoginThrottle, StaffLogins, StagedUploads
from identity.adapters.projections import Projector
from identity.adapters.read_models import ReadModels
from identity.adapters.roster_view import RosterView
from identity.domain import accounts as agg
from identity.domain.record import ROSTER_STREAM, PnsRecord
from identity.domain.stamping import STAMPING_STREAM
from identity.settings import Settings
from pupns.eventstore import EventStore
from pupns.personal import FieldCodec
from pupns.personal.provider import default_codec
from pupns.repository import Repository


@dataclass(frozen=True)
class Deps:
    """One identity database's event store, seen through what the use cases need."""

    store: EventStore
    settings: Settings
    read: ReadModels
    throttle: LoginThrottle
    logins: StaffLogins
    uploads: StagedUploads
    codec: FieldCodec  # seals personal values before an append, opens them for an authorised reader

    @classmethod
    def of(cls, store: EventStore, settings: Settings | None = None, codec: FieldCodec | None = None) -> Deps:
        """Wire the adapters over one event store (the codec of the environment's key store unless given)."""
        db = store.db
        return cls(store, settings or Settings(), ReadModels(db), LoginThrottle(db), StaffLogins(db),
                   StagedUploads(db), codec or default_codec())

    def roster_view(self) -> RosterView:
        """A roster read-model writer with its own cache (one per import or batch)."""
        return RosterView(self.store.db)

    def projection(self, docs: list[dict], session) -> None:
        """The live projector, run inside each append's transaction (indexes are made once at start)."""
        Projector(self.store.db).apply(docs, session)

    def repository(self, aggregate: type, stream: str, *, projected: bool = True) -> Repository:
        """A repository of `aggregate`, one stream each: `stream` with its one `{placeholder}` set to the id."""
        def stream_of(id: str) -> str:
            return stream.replace(stream[stream.index("{"):stream.index("}") + 1], id) if "{" in stream else stream

        return Repository(self.store, aggregate, stream_of, projector=self.projection if projected else None)

    @property
    def records(self) -> Repository[PnsRecord]:
        return self.repository(PnsRecord, ROSTER_STREAM)

    @property
    def accounts(self) -> Repository[agg.PnsAccount]:
        return self.repository(agg.PnsAccount, agg.ACCOUNT_STREAM)

    @property
    def staff(self) -> Repository[agg.StaffAccount]:
        return self.repository(agg.StaffAccount, agg.STAFF_STREAM)

    @property
    def campaign(self) -> Repository[agg.Campaign]:
        return self.repository(agg.Campaign, agg.CAMPAIGN_STREAM)

    @property
    def selundupan(self) -> Repository[agg.SelundupanCandidate]:
        return self.repository(agg.SelundupanCandidate, agg.SELUNDUPAN_STREAM)

    @property
    def passwords(self) -> Repository[agg.PasswordHistory]:
        return self.repository(agg.PasswordHistory, agg.PASSWORD_STREAM)

    @property
    def form_anomalies(self) -> Repository[agg.FormAnomalyNotes]:
        return self.repository(agg.FormAnomalyNotes, agg.FORM_ANOMALIES_STREAM)

    @property
    def erasures(self) -> Repository[agg.ErasureRecord]:
        return self.repository(agg.ErasureRecord, agg.ERASURE_STREAM, projected=False)

    @property
    def stamping(self) -> Repository[agg.StampingNotes]:
        # No read model: the timeline reads these notes from the stream.
        return self.repository(agg.StampingNotes, STAMPING_STREAM, projected=False)
