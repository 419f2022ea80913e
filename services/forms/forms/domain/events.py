"""forms' stored events: a PNS's form opened, edited, submitted, decided, reopened; the campaign window seen.

The class name is the stored type and the fields are the stored data keys: renaming either changes the log.
`FormSubmitted` and `FormReopened` are also consumed by other services: their consumer-facing shape is
`pupns.contracts.forms`.

Schema version 2 (SPEC §7, issue 13): the personal fields of the roster copy and of every section (`nik`, `npwp`,
`alamat`, `no_hp`, `email`, `bpjs_kesehatan_nomor`, `taspen_nomor`) are sealed tokens of the PNS's data key, sealed
by the command before the append. The rules that need the clear NIK ran in that command: `FormOpened` and a saved
`data_utama` carry their results (`nik_bi`, the NIK's blind index; `nik_mismatch`), so projections and replays
never decrypt. Version 1 events (values in clear, no `nik_bi`) still load: the projector derives both from the
clear NIK.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pupns.aggregate import DomainEvent


@dataclass(frozen=True)
class FormOpened(DomainEvent):
    """The registration was confirmed: the form opens, prefilled from the roster row."""

    SCHEMA_VERSION = 2

    instansi_kode: str
    jabatan: str | None
    roster: dict[str, Any]
    sections: dict[str, Any]
    nik_bi: str | None = None  # blind index of the NIK the form starts with
    nik_mismatch: bool | None = None  # that NIK disagrees with the NIP (None: no NIK, or a version 1 event)


@dataclass(frozen=True)
class SectionSaved(DomainEvent):
    """The PNS replaced one section (a `data_utama` also carries the NIK facts of the form after it)."""

    SCHEMA_VERSION = 2

    section: str
    value: Any
    nik_bi: str | None = None
    nik_mismatch: bool | None = None


@dataclass(frozen=True)
class FormSubmitted(DomainEvent):
    """The PNS submitted the form: it is locked and handed to verification."""

    SCHEMA_VERSION = 2

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
