"""One queued e-mail: queued (addressed or waiting for its recipient), tried until the SMTP server takes it."""
from __future__ import annotations

from typing import ClassVar

from notifications.domain.events import EmailAddressed, EmailFailed, EmailGivenUp, EmailQueued, EmailSent
from notifications.domain.templates import Email
from pupns.aggregate import Aggregate, DomainEvent
from pupns.retry_queue import Backoff

PENDING, WAITING, SENT, GIVEN_UP = "pending", "waiting_contact", "sent", "given_up"
RECIPIENT_ERASED = "recipient_erased"  # the PNS's personal data was erased: the address is unreadable
DEFAULT_BACKOFF = Backoff(2.0, 600.0)
MAX_ERROR = 500


def stream_of(email_id: str) -> str:
    """One stream per e-mail, keyed by the id of the event it answers: a redelivered source is one e-mail."""
    return f"email-{email_id}"


class QueuedEmail(Aggregate):
    """An e-mail of the outbox (stream `email-{source event id}`)."""

    EVENTS: ClassVar[tuple[type[DomainEvent], ...]] = (EmailQueued, EmailAddressed, EmailFailed, EmailSent,
                                                       EmailGivenUp)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip: str | None = None
        self.status: str | None = None
        self.attempts = 0
        self.to: str | None = None  # sealed, as queued (or addressed)
        self.subject: str | None = None
        self.body: str | None = None  # sealed

    @classmethod
    def load(cls, id: str, docs: list[dict]) -> QueuedEmail:
        email = super().load(id, docs)
        if docs:  # whom it is about is on the envelope, not in the events' data
            email.nip = docs[0].get("nip")
        return email  # type: ignore[return-value]

    def queue(self, nip: str | None, email: Email, to: str | None) -> None:
        """Queue the rendered e-mail; without an address it waits for the contact."""
        self.nip = nip
        self.trigger(EmailQueued(to, email.subject, email.body, email.template))

    @property
    def held_by_its_queuer(self) -> bool:
        """Just queued with an address: the outbox row is leased to the worker that queued it, which tries it
        at once without claiming it (the retry loop takes it only if that worker died: its lease runs out)."""
        return self.version == 1 and self.status == PENDING

    def address(self, to: str) -> bool:
        """Give a waiting e-mail its recipient; False when it is not waiting (addressed concurrently)."""
        if self.status != WAITING:
            return False
        self.trigger(EmailAddressed(to))
        return True

    def fail(self, error: str) -> None:
        """Record a failed delivery attempt."""
        self.trigger(EmailFailed(self.attempts + 1, error[:MAX_ERROR]))

    def sent(self) -> None:
        """Record that the SMTP server took the e-mail."""
        self.trigger(EmailSent())

    def give_up(self, reason: str) -> bool:
        """Stop trying for good (an unreadable address is not retried); False once sent or given up."""
        if self.status in (SENT, GIVEN_UP):
            return False
        self.trigger(EmailGivenUp(reason))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, EmailQueued):
            self.status = PENDING if event.to else WAITING
            self.to, self.subject, self.body = event.to, event.subject, event.body
        elif isinstance(event, EmailAddressed):
            self.status, self.to = PENDING, event.to
        elif isinstance(event, EmailFailed):
            self.attempts = event.attempt
        elif isinstance(event, EmailSent):
            self.status = SENT
        elif isinstance(event, EmailGivenUp):
            self.status = GIVEN_UP
