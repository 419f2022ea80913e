"""verification's stored events: what happened to a registration or a submission under review.

The class name is the stored type and the fields are the stored data keys: renaming either changes the log.
`RegistrationConfirmed`, `RegistrationRejected`, `SubmissionApproved` and `SubmissionReturned` are also
published to other services: their consumer-facing shape is `pupns.contracts.verification`.

Schema version 2 (SPEC §7, issue 13): what verification copies from identity and forms (a registration's `email`
and `roster`, a submission's `sections`) holds the personal fields as sealed tokens of the PNS's data key; the
command seals whatever still arrives in clear before the append. Opened only in a verifier's or an admin's answer
and in a granted subscriber's public copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pupns.aggregate import DomainEvent


@dataclass(frozen=True)
class RegistrationReceived(DomainEvent):
    """identity registered a PNS of the roster: the registration waits for a verifier of its instansi."""

    SCHEMA_VERSION = 2

    registration_number: str
    nama: str | None
    email: str | None
    instansi_kode: str
    instansi_nama: str | None
    roster: dict[str, Any]
    registered_at: str


@dataclass(frozen=True)
class RegistrationConfirmed(DomainEvent):
    """A verifier confirmed the registration: the PNS may log in and their form opens."""

    SCHEMA_VERSION = 2

    registration_number: str
    nama: str | None
    instansi_kode: str
    roster: dict[str, Any]
    email: str | None = None  # the registration's address, so the form can start with it


@dataclass(frozen=True)
class RegistrationRejected(DomainEvent):
    """A verifier rejected the registration with a reason; the PNS may register again."""

    registration_number: str
    reason: str


@dataclass(frozen=True)
class SubmissionReceived(DomainEvent):
    """forms handed over a submitted form: a new review opens."""

    SCHEMA_VERSION = 2

    sections: dict[str, Any]
    submitted_at: str
    anomalies: list[dict]


@dataclass(frozen=True)
class SubmissionApproved(DomainEvent):
    """A verifier approved the submission: its sections are the verified data."""

    SCHEMA_VERSION = 2

    sections: dict[str, Any]


@dataclass(frozen=True)
class SubmissionReturned(DomainEvent):
    """A verifier returned the submission to the PNS with notes per section."""

    notes: dict[str, str]


@dataclass(frozen=True)
class SubscriberGrantsSet(DomainEvent):
    """An administrator set the personal fields a public subscriber receives in clear (stream `subscriber-{name}`;
    an empty list withdraws every grant). About no PNS: the audit trail of SPEC §5's grants."""

    name: str
    fields: list[str]
    previous: list[str]
