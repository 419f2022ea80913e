"""Contracts of the events `identity` publishes that other services consume.

RegistrationSubmitted: verification (a registration to confirm), notifications (the receipt e-mail, the PNS's
address), documents (the registration receipt). ReminderDue, MarkedNotReregistered, Reinstated: notifications
(deadline reminder, sanction, its lifting). CampaignScheduled: forms (its copy of the window; forms orders
schedules by the envelope's stream `version`, which it reads from the message itself).
RegistrationSubmitted's data repeats the envelope's `nip` and `instansi_kode`: the reader checks them and keeps
the envelope's (`event.nip`, `event.instansi_kode`). The password hash identity stores with a registration never
leaves it (the relay redacts it): no reader may expect it.
RegistrationSubmitted v2 (SPEC §7): `email` and the personal columns of `roster` (`nik`, ...) are sealed tokens
("enc:v1:..." of the PNS's data key); a reader opens them with `pupns.personal` only where an authorised reader
gets them. v1 messages (the same shape, values in clear) are still read: `FieldCodec.open_` passes clear values
through, so a reader handles both alike.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, fields, post_load

from pupns.contracts import Contract

NIP_EXAMPLE = "198503122010011001"
ROSTER_EXAMPLE = {"nip": NIP_EXAMPLE, "nik": "3273011203850001", "nama": "Budi", "instansi_kode": "4011",
                  "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo", "jabatan": "Pranata Komputer",
                  "golongan": "32"}


def optional_text() -> fields.String:
    return fields.String(allow_none=True, load_default=None)


class RegistrationSubmittedData(Schema):
    registration_number = fields.String(required=True)
    nip = fields.String(required=True)
    email = fields.String(required=True)
    instansi_kode = fields.String(required=True)  # repeats the envelope's
    nama = optional_text()
    instansi_nama = optional_text()
    unit_kerja = optional_text()
    registered_at = optional_text()  # ISO 8601 with offset
    roster = fields.Dict(allow_none=True, load_default=None)  # the roster row registered against, flat

    @post_load
    def envelope_keeps_them(self, data: dict, **kwargs: Any) -> dict:
        """nip and instansi_kode repeat the envelope's: checked here, read from the envelope."""
        return {k: v for k, v in data.items() if k not in ("nip", "instansi_kode")}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegistrationSubmitted(Contract):
    """A roster PNS registered; the account waits for a verifier's confirmation."""

    PRODUCER = "identity"
    TYPE = "RegistrationSubmitted"
    VERSION = 2
    READS = (1, 2)  # v1 differs only in holding the personal values in clear
    Schema = RegistrationSubmittedData
    EXAMPLE = {"registration_number": "PUPNS-2026-ABCD2345", "nip": NIP_EXAMPLE,
               "email": "enc:v1:3f9a0c7d52e1b846:bm9uY2UtYW5kLWNpcGhlcnRleHQtYW5kLXRhZw",
               "nama": "Budi", "instansi_kode": "4011", "instansi_nama": "Kota Bandung",
               "unit_kerja": "Diskominfo",
               "roster": {**ROSTER_EXAMPLE, "nik": "enc:v1:3f9a0c7d52e1b846:c2VhbGVkLW5paw"},
               "registered_at": "2026-09-01T08:00:00+00:00"}

    registration_number: str
    email: str
    instansi_nama: str | None = None
    unit_kerja: str | None = None
    registered_at: str | None = None
    nama: str | None = None
    roster: dict[str, Any] | None = None

    @classmethod
    def from_message(cls, message: dict) -> RegistrationSubmitted:
        """As Contract.from_message, reading v1 (clear values) as well as v2 (sealed values)."""
        if message.get("schema_version", 1) in cls.READS:
            message = {**message, "schema_version": cls.VERSION}
        return super().from_message(message)


class ReminderDueData(Schema):
    closes_at = fields.String(required=True)  # the deadline reminded of, ISO 8601 with offset
    before = fields.String(required=True)  # the configured offset that fell due, e.g. "7d"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReminderDue(Contract):
    """A registered PNS with no submission is due a deadline reminder (once per deadline and offset)."""

    PRODUCER = "identity"
    TYPE = "ReminderDue"
    Schema = ReminderDueData
    EXAMPLE = {"closes_at": "2026-12-31T23:59:59+07:00", "before": "7d"}

    closes_at: str
    before: str


class MarkedNotReregisteredData(Schema):
    closes_at = fields.String(required=True)  # the close this PNS was sanctioned for


@dataclasses.dataclass(frozen=True, kw_only=True)
class MarkedNotReregistered(Contract):
    """The campaign closed and this PNS had never submitted a form: `not_reregistered`."""

    PRODUCER = "identity"
    TYPE = "MarkedNotReregistered"
    Schema = MarkedNotReregisteredData
    EXAMPLE = {"closes_at": "2026-12-31T23:59:59+07:00"}

    closes_at: str


class ReinstatedData(Schema):
    reason = fields.String(required=True)
    automatic = fields.Boolean(load_default=False)  # lifted by a submission made before the close


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reinstated(Contract):
    """The not_reregistered sanction was lifted (by an administrator, with a reason, or automatically)."""

    PRODUCER = "identity"
    TYPE = "Reinstated"
    Schema = ReinstatedData
    EXAMPLE = {"reason": "SK pembatalan sanksi", "automatic": False}

    reason: str
    automatic: bool = False


class CampaignScheduledData(Schema):
    opens_at = fields.String(required=True)  # ISO 8601 with offset
    closes_at = fields.String(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CampaignScheduled(Contract):
    """The campaign window was scheduled, extended, moved or closed early (the latest one holds)."""

    PRODUCER = "identity"
    TYPE = "CampaignScheduled"
    Schema = CampaignScheduledData
    EXAMPLE = {"opens_at": "2026-09-01T00:00:00+07:00", "closes_at": "2026-12-31T23:59:59+07:00"}

    opens_at: str
    closes_at: str
