"""marshmallow schemas for what verifiers send: list filters, a rejection reason, return notes."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from pupns.errors import validation_error
from pupns.sections import SECTION_KEYS

REQUIRED = "wajib diisi"
TEXT_MESSAGES = {"required": REQUIRED, "null": REQUIRED, "invalid": "harus berupa teks"}


class StrictSchema(Schema):
    error_messages = {"unknown": "kolom tidak dikenal", "type": "harus berupa objek"}


def list_schema(statuses: tuple[str, ...]) -> type[Schema]:
    class ListQuerySchema(StrictSchema):
        status = fields.String(load_default=statuses[0], validate=validate.OneOf(
            statuses, error="harus salah satu dari: " + ", ".join(statuses)), error_messages=TEXT_MESSAGES)
        cursor = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
            r"^\d{1,18}$", error="kursor tidak valid"), error_messages=TEXT_MESSAGES)
        limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(
            1, 200, error="harus antara 1 dan 200"), error_messages={"invalid": "harus berupa bilangan bulat"})

    return ListQuerySchema


RegistrationListSchema = list_schema(("pending", "confirmed", "rejected"))
SubmissionListSchema = list_schema(("submitted", "returned", "verified"))


class ExportPageSchema(StrictSchema):
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\d{18}$", error="kursor tidak valid"), error_messages=TEXT_MESSAGES)
    limit = fields.Integer(load_default=1000, strict=True, validate=validate.Range(
        1, 5000, error="harus antara 1 dan 5000"), error_messages={"invalid": "harus berupa bilangan bulat"})


class RejectSchema(StrictSchema):
    reason = fields.String(required=True, error_messages=TEXT_MESSAGES, validate=[
        validate.Regexp(r"\s*\S", error=REQUIRED), validate.Length(max=1000, error="paling banyak 1000 karakter")])


class ReturnSchema(StrictSchema):
    notes = fields.Dict(required=True, keys=fields.String(), values=fields.String(error_messages=TEXT_MESSAGES),
                        error_messages={**TEXT_MESSAGES, "invalid": "harus berupa objek {{bagian: catatan}}"})

    @validates("notes")
    def check_notes(self, notes: dict, **kwargs: Any) -> None:
        if not notes:
            raise ValidationError("minimal satu catatan per bagian")
        unknown = sorted(k for k in notes if k not in SECTION_KEYS)
        if unknown:
            raise ValidationError("bagian tidak dikenal: " + ", ".join(unknown))
        blank = sorted(k for k, text in notes.items() if not text.strip())
        if blank:
            raise ValidationError("catatan kosong untuk: " + ", ".join(blank))


def load(schema: type[Schema], payload: dict) -> dict:
    """Load or raise the spec's 422 envelope with dotted field paths."""
    try:
        return schema().load(payload)
    except ValidationError as exc:
        raise validation_error(flatten("", exc.messages)) from exc


def flatten(prefix: str, messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for name, inner in messages.items():
        path = prefix if name == "_schema" else (f"{prefix}.{name}" if prefix else str(name))
        for sub, reasons in flatten(path, inner).items():
            flat.setdefault(sub, []).extend(reasons)
    return flat
