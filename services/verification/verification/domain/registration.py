"""Registration and Submission aggregates: what a verifier may decide, and when."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pupns.aggregate import Aggregate, DomainError, DomainEvent


class Registration(Aggregate):
    """A PNS's registration awaiting a verifier of their instansi (stream `registration-{nip}`)."""

    @dataclass(frozen=True)
    class RegistrationReceived(DomainEvent):
        registration_number: str
        nama: str | None
        email: str | None
        instansi_kode: str
        instansi_nama: str | None
        roster: dict[str, Any]
        registered_at: str

    @dataclass(frozen=True)
    class RegistrationConfirmed(DomainEvent):
        registration_number: str
        nama: str | None
        instansi_kode: str
        roster: dict[str, Any]
        email: str | None = None  # the registration's address, so the form can start with it

    @dataclass(frozen=True)
    class RegistrationRejected(DomainEvent):
        registration_number: str
        reason: str

    EVENTS = (RegistrationReceived, RegistrationConfirmed, RegistrationRejected)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.status: str | None = None
        self.registration_number = ""
        self.nama: str | None = None
        self.instansi_kode: str | None = None
        self.roster: dict[str, Any] = {}
        self.email: str | None = None

    def receive(self, event: RegistrationReceived) -> bool:
        """A new registration, or a fresh attempt after a rejection; anything else is a stale repeat."""
        if self.status not in (None, "rejected"):
            return False
        self.trigger(event)
        return True

    def confirm(self) -> None:
        self._require_pending()
        self.trigger(self.RegistrationConfirmed(self.registration_number, self.nama, self.instansi_kode or "",
                                                self.roster, self.email))

    def reject(self, reason: str) -> None:
        self._require_pending()
        self.trigger(self.RegistrationRejected(self.registration_number, reason))

    def _require_pending(self) -> None:
        if self.status is None:
            raise DomainError("not_found")
        if self.status != "pending":
            raise DomainError("invalid_state")

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, Registration.RegistrationReceived):
            self.status, self.registration_number = "pending", event.registration_number
            self.nama, self.instansi_kode, self.roster = event.nama, event.instansi_kode, dict(event.roster)
            self.email = event.email
        elif isinstance(event, Registration.RegistrationConfirmed):
            self.status = "confirmed"
        elif isinstance(event, Registration.RegistrationRejected):
            self.status = "rejected"


class Submission(Aggregate):
    """A submitted form under review (stream `submission-{nip}`)."""

    @dataclass(frozen=True)
    class SubmissionReceived(DomainEvent):
        sections: dict[str, Any]
        submitted_at: str
        anomalies: list[dict]

    @dataclass(frozen=True)
    class SubmissionApproved(DomainEvent):
        sections: dict[str, Any]

    @dataclass(frozen=True)
    class SubmissionReturned(DomainEvent):
        notes: dict[str, str]

    EVENTS = (SubmissionReceived, SubmissionApproved, SubmissionReturned)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.status: str | None = None
        self.instansi_kode: str | None = None
        self.sections: dict[str, Any] = {}

    def receive(self, sections: dict, submitted_at: str, anomalies: list[dict]) -> None:
        """A (re)submission always opens a new review."""
        self.trigger(self.SubmissionReceived(sections, submitted_at, anomalies))

    def approve(self) -> None:
        self._require_submitted()
        self.trigger(self.SubmissionApproved(self.sections))

    def return_with_notes(self, notes: dict[str, str]) -> None:
        self._require_submitted()
        self.trigger(self.SubmissionReturned(notes))

    def _require_submitted(self) -> None:
        if self.status is None:
            raise DomainError("not_found")
        if self.status != "submitted":
            raise DomainError("invalid_state")

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, Submission.SubmissionReceived):
            self.status, self.sections = "submitted", dict(event.sections)
        elif isinstance(event, Submission.SubmissionApproved):
            self.status = "verified"
        elif isinstance(event, Submission.SubmissionReturned):
            self.status = "returned"


ROSTER_FIELDS = {
    "data_utama": ("nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir", "jenis_kelamin",
                   "agama", "nik"),
    "data_posisi": ("instansi_kode", "unit_kerja", "jenis_jabatan", "jabatan"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return None if value in ("", None) else str(value)


def changes_from_roster(sections: dict[str, Any], roster: dict[str, Any]) -> list[dict]:
    """What the PNS corrected against the master roster, field by field."""
    found = []
    for section, names in ROSTER_FIELDS.items():
        value = sections.get(section) or {}
        for name in names:
            before, after = _plain(roster.get(name)), _plain(value.get(name))
            if before != after:
                found.append({"section": section, "field": name, "from": before, "to": after})
    return found


def referenced_documents(value: Any) -> list[str]:
    """Every `document_id` a submission points to, in order, without repeats."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "document_id" and isinstance(inner, str) and inner:
                found.append(inner)
            else:
                found.extend(referenced_documents(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(referenced_documents(inner))
    return list(dict.fromkeys(found))
