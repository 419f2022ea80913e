"""The submission statement ('Surat Pernyataan') and its e-Meterai stamping: the aggregate and its rules.

The submission time is what counts: stamping happens after the fact, is retried until it succeeds (forever
if needed), and never touches or delays the submission itself.
"""
from __future__ import annotations

import hashlib
from typing import ClassVar

from documents.domain.events import StampAbandoned, StampFailed, StampRequested, StatementIssued, StatementStamped
from pupns.aggregate import Aggregate, DomainEvent
from pupns.canonical import canonical_json
from pupns.retry_queue import Backoff

STREAM_PREFIX = "statement-"
REQUESTED, RETRYING, STAMPED, ABANDONED = "requested", "retrying", "stamped", "abandoned"
ERASED_REASON = "personal_data_erased"  # the only reason a statement is abandoned
PENDING_STATES = (REQUESTED, RETRYING)
DEFAULT_BACKOFF = Backoff(2.0, 300.0)

NOTES = {
    REQUESTED: "Surat pernyataan sedang dibubuhi e-Meterai.",
    RETRYING: ("Menunggu e-Meterai (layanan e-Meterai sedang gangguan, akan dicoba ulang otomatis). "
               "Data Anda tetap tercatat terkirim pada waktu pengiriman."),
    STAMPED: "Surat pernyataan telah dibubuhi e-Meterai.",
    ABANDONED: "Surat pernyataan tidak dibubuhi e-Meterai karena data pribadi pemiliknya telah dihapus.",
}


def stream_of(statement_id: str) -> str:
    """One statement per submission: keyed by the id of the forms.FormSubmitted event."""
    return f"{STREAM_PREFIX}{statement_id}"


def data_digest(sections: dict | None) -> str:
    """SHA-256 of the submitted sections (canonical JSON): binds the statement to the exact data sent."""
    return hashlib.sha256(canonical_json(sections or {}).encode()).hexdigest()


def retry_delay(attempt: int, retryable: bool = True, backoff: Backoff = DEFAULT_BACKOFF) -> float:
    """Seconds before the next try after `attempt` failures: exponential from the base, capped.

    A refusal by the provider (4xx, `retryable` False) waits the cap at once: it needs an operator, not a
    quick retry, but it is still tried again so the stamp arrives once the cause is fixed.
    """
    return backoff.delay(attempt) if retryable else backoff.cap


def state_after(event_type: str, current: str | None) -> str | None:
    """The statement's state after one of its events (a stamp, or giving up, is final)."""
    if current in (STAMPED, ABANDONED):
        return current
    return {"StampRequested": REQUESTED, "StampFailed": RETRYING, "StatementStamped": STAMPED,
            "StampAbandoned": ABANDONED}.get(event_type, current)


class Statement(Aggregate):
    """One submission's statement (stream `statement-{FormSubmitted event id}`): issued, then stamped."""

    EVENTS: ClassVar[tuple[type[DomainEvent], ...]] = (StatementIssued, StampRequested, StampFailed,
                                                       StatementStamped, StampAbandoned)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip: str | None = None
        self.instansi_kode: str | None = None
        self.state: str | None = None
        self.attempts = 0
        self.sha256: str | None = None

    @classmethod
    def load(cls, id: str, docs: list[dict]) -> Statement:
        statement = super().load(id, docs)
        if docs:  # who it belongs to is on the envelope, not in the events' data
            statement.nip, statement.instansi_kode = docs[0].get("nip"), docs[0].get("instansi_kode")
        return statement  # type: ignore[return-value]

    def issue(self, nip: str, instansi_kode: str | None, submitted_at: str | None, data_sha256: str,
              sha256: str, size: int) -> None:
        """Record the rendered statement and ask for its stamp (once: a reissue is a no-op)."""
        if self.version or self.pending:
            return
        self.nip, self.instansi_kode = nip, instansi_kode
        self.trigger(StatementIssued(self.id, submitted_at, data_sha256, sha256, size))
        self.trigger(StampRequested(self.id, sha256))

    def fail(self, error: str, retryable: bool, backoff: Backoff) -> float:
        """Record a failed attempt; returns the seconds until the next one."""
        attempt = self.attempts + 1
        delay = retry_delay(attempt, retryable, backoff)
        self.trigger(StampFailed(self.id, attempt, error, retryable, delay))
        return delay

    def stamp(self, serial: str, sha256: str, size: int) -> None:
        """Record the provider's stamp (final)."""
        self.trigger(StatementStamped(self.id, self.attempts + 1, serial, sha256, size))

    def abandon(self, reason: str) -> None:
        """Give up stamping (the contents can no longer be read); a no-op once stamped or abandoned."""
        if self.state not in (STAMPED, ABANDONED):
            self.trigger(StampAbandoned(self.id, reason))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, StatementIssued):
            self.sha256 = event.sha256
        elif isinstance(event, StampFailed | StatementStamped):
            self.attempts = event.attempt
        self.state = state_after(event.type_name(), self.state)
