"""Contracts of the events `verification` publishes that other services consume.

RegistrationConfirmed: identity (the PNS may log in), forms (the form opens, prefilled), notifications.
RegistrationRejected: identity (may register again), notifications. SubmissionApproved: identity (the roster
takes the verified values), forms, notifications. SubmissionReturned: identity, forms, notifications.
The instansi is the envelope's `instansi_kode` (RegistrationConfirmed's data repeats it; readers take the
envelope's).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates

from pupns.contracts import Contract

ROSTER_EXAMPLE = {"nip": "198503122010011001", "nik": "3273011203850001", "nama": "Budi",
                  "instansi_kode": "4011", "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo",
                  "jabatan": "Pranata Komputer", "golongan": "32"}


class RegistrationConfirmedData(Schema):
    registration_number = fields.String(required=True)
    nama = fields.String(allow_none=True, load_default=None)
    roster = fields.Dict(required=True)  # the master roster row as registered: flat, cells are strings
    email = fields.String(allow_none=True, load_default=None)  # absent from confirmations stored before it

    @validates("roster")
    def flat_row(self, roster: dict, **kwargs: Any) -> None:
        if isinstance(roster.get("row"), dict):
            raise ValidationError("the roster row itself, not a {row: ...} wrapper")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegistrationConfirmed(Contract):
    """A verifier confirmed a registration: the PNS may log in and their form opens from the roster row."""

    PRODUCER = "verification"
    TYPE = "RegistrationConfirmed"
    Schema = RegistrationConfirmedData
    EXAMPLE = {"registration_number": "PUPNS-2026-ABCD1234", "nama": "Budi", "instansi_kode": "4011",
               "roster": ROSTER_EXAMPLE, "email": "budi@example.id"}

    registration_number: str
    roster: dict[str, Any]
    nama: str | None = None
    email: str | None = None


class RegistrationRejectedData(Schema):
    registration_number = fields.String(required=True)
    reason = fields.String(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegistrationRejected(Contract):
    """A verifier rejected a registration with a reason; the PNS may register again."""

    PRODUCER = "verification"
    TYPE = "RegistrationRejected"
    Schema = RegistrationRejectedData
    EXAMPLE = {"registration_number": "PUPNS-2026-ABCD1234", "reason": "NIK tidak cocok dengan KTP"}

    registration_number: str
    reason: str


class SubmissionApprovedData(Schema):
    sections = fields.Dict(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SubmissionApproved(Contract):
    """A verifier approved a submission: its sections are the PNS's verified data."""

    PRODUCER = "verification"
    TYPE = "SubmissionApproved"
    Schema = SubmissionApprovedData
    EXAMPLE = {"sections": {"data_utama": {"nama": "Budi Santoso", "nik": "3273011203850001"}}}

    sections: dict[str, Any]


class SubmissionReturnedData(Schema):
    notes = fields.Dict(keys=fields.String(), values=fields.String(), required=True)  # {section: note}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SubmissionReturned(Contract):
    """A verifier returned a submission to the PNS with a note per section."""

    PRODUCER = "verification"
    TYPE = "SubmissionReturned"
    Schema = SubmissionReturnedData
    EXAMPLE = {"notes": {"riwayat_pendidikan": "Lampirkan nomor ijazah."}}

    notes: dict[str, str]
