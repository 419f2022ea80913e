"""Loading and saving forms' aggregates through pupns.repository.Repository."""
from __future__ import annotations

import forms.domain
import pupns.aggregate
from forms.adapters.projections import Projector
from forms.domain import Campaign, Form, campaign_stream, stream_name
from pupns.eventstore import EventStore
from pupns.repository import Repository
from pupns.snapshots import Snapshots, code_fingerprint

# What builds a Form's state: a change to any of it ignores every snapshot taken before (pupns.snapshots).
FORM_CODE = code_fingerprint(forms.domain, pupns.aggregate)
# A PNS saves a section at a time, and a form's stream grows with every save, return and reopening: with a snapshot
# every 10 events a command reads at most 10 events and one snapshot, and keeps one snapshot per 10 saves.
SNAPSHOT_EVERY = 10


class FormRepository(Repository[Form]):
    """Forms, one stream per NIP (`form-{nip}`), projected in the same transaction as each append, loaded from a
    snapshot and the events after it."""

    def __init__(self, store: EventStore) -> None:
        super().__init__(store, Form, stream_name, projector=Projector(store.db).apply, nip_of=lambda form: form.id,
                         snapshots=Snapshots(store.db, FORM_CODE, SNAPSHOT_EVERY))

    def first_answer(self, idempotency_key: str) -> dict | None:
        """The answer stored with a request's idempotency key when it was first done, if it was."""
        seen = self.store.recall(idempotency_key)
        return seen.get("result") if seen else None

    def current_version(self, nip: str) -> int:
        """The stream's version now (what a PNS who lost a race is told to retry from)."""
        return self.store.stream_version(self.stream_of(nip))


def campaigns(store: EventStore) -> Repository[Campaign]:
    """The one `campaign` stream: forms' copy of identity's schedule (about no PNS, no instansi)."""
    return Repository(store, Campaign, campaign_stream, projector=Projector(store.db).apply,
                      nip_of=lambda _: None, instansi_of=lambda _: None)
