"""Every event the notifications service stores: frozen dataclasses, the class name is the stored type."""
from __future__ import annotations

from dataclasses import dataclass

from pupns.aggregate import DomainEvent


@dataclass(frozen=True)
class ContactRecorded(DomainEvent):
    """The address to write to about one PNS (stream `contact-{nip}`; a new registration replaces it).

    Version 2 (issue 13): `email` is sealed with the PNS's data key."""

    SCHEMA_VERSION = 2

    email: str
    nama: str | None


@dataclass(frozen=True)
class EmailQueued(DomainEvent):
    """An e-mail to send (stream `email-{source event id}`); `to` is None until the contact is known.

    Version 2 (issue 13): `to` and `body` are sealed with the PNS's data key (opened at the SMTP hand-off)."""

    SCHEMA_VERSION = 2

    to: str | None
    subject: str
    body: str
    template: str


@dataclass(frozen=True)
class EmailAddressed(DomainEvent):
    """A waiting e-mail got its recipient once the contact was recorded (version 2: `to` sealed)."""

    SCHEMA_VERSION = 2

    to: str


@dataclass(frozen=True)
class EmailFailed(DomainEvent):
    """One delivery attempt failed; the retry loop tries again after the backoff."""

    attempt: int
    error: str


@dataclass(frozen=True)
class EmailSent(DomainEvent):
    """The SMTP server took the e-mail (final)."""


@dataclass(frozen=True)
class EmailGivenUp(DomainEvent):
    """The e-mail will never be sent (final): its address or body can no longer be read (`reason` a code)."""

    reason: str
