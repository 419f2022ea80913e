"""Every event identity stores, as a frozen dataclass: the class name is the stored type, the fields its data.

Type names and data keys are what the log already holds (replay reads old events with these classes) and what
other services and the public translator read: rename nothing here without a new SCHEMA_VERSION.
Personal values (SPEC §7) are sealed by the command before the event is made (`enc:v1:` tokens, the PNS's data key;
staff password hashes under the subject `staff:<username>`): schema_version 2 marks events that carry them sealed,
version 1 events of the same type hold them in clear and read back alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pupns.aggregate import DomainEvent


# -- roster-{nip}: the master roster entry and the campaign sanction on it -------------------------------
@dataclass(frozen=True)
class RosterEntryImported(DomainEvent):
    """A roster CSV row was loaded (new, or changed since the last import); its personal columns sealed.

    `nik_bi` (blind index of the NIK), `fingerprint` (keyed digest of the clear row: "unchanged" on re-import)
    and `anomaly_codes` (the row's own flags) are worked out on the clear row before sealing (None in v1)."""

    SCHEMA_VERSION = 2

    row: dict[str, Any]
    nik_bi: str | None = None
    fingerprint: str | None = None
    anomaly_codes: list[str] | None = None


@dataclass(frozen=True)
class RosterEntryCorrected(DomainEvent):
    """An approved submission's values replaced the roster's (personal columns sealed, as on import)."""

    SCHEMA_VERSION = 2

    row: dict[str, Any]
    from_submission: str | None = None
    nik_bi: str | None = None
    anomaly_codes: list[str] | None = None


@dataclass(frozen=True)
class MarkedNotReregistered(DomainEvent):
    """The campaign closed and this PNS had never submitted a form."""

    closes_at: str


@dataclass(frozen=True)
class Reinstated(DomainEvent):
    """An administrator (or an in-window submission that arrived late) lifted the sanction."""

    reason: str
    automatic: bool = False


@dataclass(frozen=True)
class NikMismatched(DomainEvent):
    """Someone registering for this NIP gave a wrong NIK (counted by the NIK-guessing rule)."""

    at: str


# -- account-{nip}: the PNS account -----------------------------------------------------------------------
@dataclass(frozen=True)
class RegistrationSubmitted(DomainEvent):
    """A roster PNS registered; the account waits for a verifier's confirmation (email, password_hash and the
    roster copy's personal columns sealed)."""

    SCHEMA_VERSION = 2

    registration_number: str
    nip: str
    email: str
    nama: str
    instansi_kode: str
    instansi_nama: str
    unit_kerja: str
    password_hash: str
    roster: dict[str, Any]
    registered_at: str


@dataclass(frozen=True)
class AccountActivated(DomainEvent):
    """A verifier confirmed the registration: the PNS may log in."""

    registration_number: str | None = None


@dataclass(frozen=True)
class AccountRejected(DomainEvent):
    """A verifier rejected the registration: the PNS may register again."""

    reason: str | None = None


@dataclass(frozen=True)
class AccountStatusChanged(DomainEvent):
    """The form's state as the PNS sees it (draft, submitted, returned, verified)."""

    status: str
    note: str | None = None
    since: str | None = None  # when its cause happened (ordering across services; older events have none)


# -- other streams ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StampingNoted(DomainEvent):
    """documents' e-Meterai progress on a submission statement (stamping-{nip}; timeline only)."""

    statement_id: str | None
    state: str
    at: str | None = None
    attempt: int | None = None
    stamp_serial: str | None = None


@dataclass(frozen=True)
class StaffAccountCreated(DomainEvent):
    """An administrator or verifier account (staff-{username}); the hash sealed under `staff:<username>`."""

    SCHEMA_VERSION = 2

    username: str
    role: str
    instansi_kode: str | None
    password_hash: str


@dataclass(frozen=True)
class StaffAccountDisabled(DomainEvent):
    """An administrator disabled a staff account (its tokens stop working)."""

    username: str
    reason: str


@dataclass(frozen=True)
class StaffAccountEnabled(DomainEvent):
    """An administrator enabled a disabled staff account again."""

    username: str
    reason: str


@dataclass(frozen=True)
class StaffPasswordChanged(DomainEvent):
    """A staff member changed their own password (`reset` False) or an administrator set it (`reset` True); who is
    in the meta. The new hash is sealed under `staff:<username>`, as in StaffAccountCreated; tokens issued before
    it stop working."""

    SCHEMA_VERSION = 2

    username: str
    password_hash: str
    reset: bool = False


@dataclass(frozen=True)
class PasswordRehashed(DomainEvent):
    """A password hash made with older parameters was replaced at login (password-{username}); sealed under the
    NIP (kind pns) or `staff:<username>` (kind staff)."""

    SCHEMA_VERSION = 2

    username: str
    kind: str  # pns | staff
    password_hash: str


@dataclass(frozen=True)
class CampaignScheduled(DomainEvent):
    """The campaign window was scheduled, extended or moved (campaign)."""

    opens_at: str
    closes_at: str


@dataclass(frozen=True)
class CampaignClosed(DomainEvent):
    """The campaign was closed (by an administrator or by its deadline); the audited action."""

    closes_at: str


@dataclass(frozen=True)
class UnknownNipAttempted(DomainEvent):
    """A registration attempt for a NIP outside the roster: a 'PNS selundupan' candidate (selundupan-{nip})."""

    nip: str
    at: str
    instansi_hint: str | None = None


@dataclass(frozen=True)
class FormAnomaliesNoted(DomainEvent):
    """The anomaly codes a submitted form carried (form-anomalies-{nip}; none clears the previous ones)."""

    codes: list[str]
    submitted_at: str | None = None


@dataclass(frozen=True)
class ReminderDue(DomainEvent):
    """A registered PNS with no submission is due a deadline reminder (reminder-{nip})."""

    closes_at: str
    before: str


# -- erasure-{nip} ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordErased(DomainEvent):
    """An administrator erased a PNS's personal data (crypto-shredding of their data keys); who is in the meta."""

    reason: str
