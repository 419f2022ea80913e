"""Contracts of the events `verification` publishes that other services consume.

RegistrationConfirmed: identity (the PNS may log in), forms (the form opens, prefilled), notifications.
RegistrationRejected: identity (may register again), notifications. SubmissionApproved: identity (the roster
takes the verified values), forms, notifications. SubmissionReturned: identity, forms, notifications.
The instansi is the envelope's `instansi_kode` (RegistrationConfirmed's data repeats it; readers take the
envelope's).
RegistrationConfirmed v2 and SubmissionApproved v2 (SPEC §7): `email`, the personal columns of `roster` and the
personal fields of `sections` are sealed tokens ("enc:v1:..." of the PNS's data key); a reader copies them as they
are and opens them with `pupns.personal` only where an authorised reader gets them. v1 messages (the same shape,
values in clear) are still read: `FieldCodec.open_` passes clear values through.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates

from pupns.contracts import Contract

SEALED_EXAMPLE = "enc:v1:3f9a0c7d52e1b846:c2VhbGVkLW5paw"
ROSTER_EXAMPLE = {"nip": "198503122010011001", "nik": SEALED_EXAMPLE, "nama": "Budi",
                  "instansi_kode": "4011", "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo",
                  "jabatan": "Pranata Komputer", "golongan": "32"}


def read_as_current(contract: type[Contract], message: dict) -> dict:
    """A message of a version the contract still reads, presented as the current one (same shape)."""
    if message.get("schema_version", 1) in getattr(contract, "READS", ()):
        return {**message, "schema_version": contract.VERSION}
    return message


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
    VERSION = 2
    READS = (1, 2)  # v1 differs only in holding the personal values in clear
    Schema = RegistrationConfirmedData
    EXAMPLE = {"registration_number": "PUPNS-2026-ABCD1234", "nama": "Budi", "instansi_kode": "4011",
               "roster": ROSTER_EXAMPLE, "email": SEALED_EXAMPLE}

    registration_number: str
    roster: dict[str, Any]
    nama: str | None = None
    email: str | None = None

    @classmethod
    def from_message(cls, message: dict) -> RegistrationConfirmed:
        """As Contract.from_message, reading v1 (clear values) as well as v2 (sealed values)."""
        return super().from_message(read_as_current(cls, message))


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
    VERSION = 2
    READS = (1, 2)  # v1 differs only in holding the personal values in clear
    Schema = SubmissionApprovedData
    EXAMPLE = {"sections": {"data_utama": {"nama": "Budi Santoso", "nik": SEALED_EXAMPLE}}}

    sections: dict[str, Any]

    @classmethod
    def from_message(cls, message: dict) -> SubmissionApproved:
        """As Contract.from_message, reading v1 (clear values) as well as v2 (sealed values)."""
        return super().from_message(read_as_current(cls, message))


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
