"""Loading and saving verification's aggregates (pupns.repository.Repository, one stream per NIP)."""
from __future__ import annotations

from pupns.eventstore import EventStore
from pupns.repository import Repository
from verification.adapters.projections import Projector
from verification.domain import Registration, Submission, registration_stream, submission_stream
from verification.domain.grants import SubscriberGrants, subscriber_stream


def nip_of(aggregate: Registration | Submission) -> str:
    return aggregate.id


def registrations(store: EventStore) -> Repository[Registration]:
    """Registrations, projected into `registrations` in the same transaction as each append."""
    return Repository(store, Registration, registration_stream, projector=Projector(store.db).apply, nip_of=nip_of)


class SubmissionRepository(Repository[Submission]):
    """Submissions; their instansi rides on the stored envelope (no event's data carries it), so `get` restores it."""

    def __init__(self, store: EventStore) -> None:
        super().__init__(store, Submission, submission_stream, projector=Projector(store.db).apply, nip_of=nip_of)

    def get(self, id: str) -> Submission:
        docs = self.store.read_stream(self.stream_of(id))
        submission: Submission = Submission.load(id, docs)  # type: ignore[assignment]
        submission.instansi_kode = docs[-1]["instansi_kode"] if docs else None
        return submission


def subscriber_grants(store: EventStore) -> Repository[SubscriberGrants]:
    """Subscribers' field grants (about no PNS and no instansi), projected into `subscriber_grants`."""
    return Repository(store, SubscriberGrants, subscriber_stream, projector=Projector(store.db).apply,
                      nip_of=lambda _: None, instansi_of=lambda _: None)
