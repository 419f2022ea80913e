"""A contract used only by the library's own tests (no service produces it)."""
from __future__ import annotations

import dataclasses

from marshmallow import Schema, fields

from pupns.contracts import Contract


class PingedData(Schema):
    note = fields.String(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pinged(Contract):
    """A test event: one required note."""

    PRODUCER = "testing"
    TYPE = "Pinged"
    Schema = PingedData
    EXAMPLE = {"note": "hai"}

    note: str
