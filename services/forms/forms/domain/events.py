"""forms' stored events: a PNS's form opened, edited, submitted, decided, reopened; the campaign window seen.

The class name is the stored type and the fields are the stored data keys: renaming either changes the log.
`FormSubmitted` and `FormReopened` are also consumed by other services: their consumer-facing shape is
`pupns.contracts.forms`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pupns.aggregate import DomainEvent


@dataclass(frozen=True)
class FormOpened(DomainEvent):
    """The registration was confirmed: the form opens, prefilled from the roster row."""

    instansi_kode: str
    jabatan: str | None
    roster: dict[str, Any]
    sections: dict[str, Any]


@dataclass(frozen=True)
class SectionSaved(DomainEvent):
    """The PNS replaced one section."""

    section: str
    value: Any


@dataclass(frozen=True)
class FormSubmitted(DomainEvent):
    """The PNS submitted the form: it is locked and handed to verification."""

    sections: dict[str, Any]
    submitted_at: str
    anomalies: list[dict]
    instansi_kode: str
    nama: str | None


@dataclass(frozen=True)
class FormReturned(DomainEvent):
    """A verifier returned the submission: editable again, with notes per section."""

    notes: dict[str, str]


@dataclass(frozen=True)
class FormVerified(DomainEvent):
    """Carries no data: the decision itself lives in verification's log."""


@dataclass(frozen=True)
class FormReopened(DomainEvent):
    """An administrator reopened a verified form: back to draft, editable and re-submittable."""

    reason: str


@dataclass(frozen=True)
class CampaignObserved(DomainEvent):
    """identity scheduled the campaign window; forms keeps its own copy (stream `campaign`)."""

    opens_at: str
    closes_at: str
    source_version: int = 0  # identity's stream version of the schedule: a late older one is ignored
