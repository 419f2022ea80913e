"""Contracts of the events `forms` publishes that other services consume.

FormSubmitted: identity (status, sanction lift, dashboard anomalies), verification (a new review), documents
(the Surat Pernyataan). FormReopened: identity (the PNS sees draft again). The instansi of both is the
envelope's `instansi_kode` (FormSubmitted's data repeats it; readers take the envelope's).
FormSubmitted v2 (SPEC §7): the personal fields of `sections` (`nik`, `npwp`, `alamat`, `no_hp`, `email`,
`bpjs_kesehatan_nomor`, `taspen_nomor`) are sealed tokens ("enc:v1:..." of the PNS's data key); a reader copies
them as they are and opens them with `pupns.personal` only where an authorised reader gets them. v1 messages (the
same shape, values in clear) are still read: `FieldCodec.open_` passes clear values through.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, fields

from pupns.contracts import Contract

SECTIONS_EXAMPLE = {"data_utama": {"nama": "Budi Santoso", "nik": "enc:v1:3f9a0c7d52e1b846:c2VhbGVkLW5paw"},
                    "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "ITB", "document_id": "doc-1"}]}


class FormSubmittedData(Schema):
    sections = fields.Dict(required=True)  # only the sections applicable to the PNS's jabatan
    submitted_at = fields.String(required=True)  # ISO 8601 with offset
    anomalies = fields.List(fields.Dict(), load_default=list)  # [{code, section, message}], verifiers see all
    nama = fields.String(allow_none=True, load_default=None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FormSubmitted(Contract):
    """A PNS submitted their form: locked, handed to verification, with the anomalies found on it."""

    PRODUCER = "forms"
    TYPE = "FormSubmitted"
    VERSION = 2
    READS = (1, 2)  # v1 differs only in holding the personal values in clear
    Schema = FormSubmittedData
    EXAMPLE = {"sections": SECTIONS_EXAMPLE, "submitted_at": "2026-09-01T08:00:00.000+00:00",
               "anomalies": [{"code": "nik_duplicate", "section": "data_utama",
                              "message": "NIK yang sama tercatat pada NIP lain."}],
               "instansi_kode": "4011", "nama": "Budi Santoso"}

    sections: dict[str, Any]
    submitted_at: str
    anomalies: list[dict[str, Any]]
    nama: str | None = None

    @classmethod
    def from_message(cls, message: dict) -> FormSubmitted:
        """As Contract.from_message, reading v1 (clear values) as well as v2 (sealed values)."""
        if message.get("schema_version", 1) in cls.READS:
            message = {**message, "schema_version": cls.VERSION}
        return super().from_message(message)


class FormReopenedData(Schema):
    reason = fields.String(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FormReopened(Contract):
    """An administrator reopened a verified form, with a reason: back to draft."""

    PRODUCER = "forms"
    TYPE = "FormReopened"
    Schema = FormReopenedData
    EXAMPLE = {"reason": "Salah input golongan, diperbaiki oleh PNS."}

    reason: str
