"""Boundary schemas: every identity command is loaded here before it reaches a use case."""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from identity.domain.rules import USERNAME_PATTERN, is_valid_email, looks_like_nip, parse_aware, password_problems
from pupns.errors import validation_error
from pupns.nip import normalize_nip, parse_nip, validate_nik

MESSAGES = {"required": "wajib diisi", "null": "tidak boleh kosong", "invalid": "harus berupa teks"}


def text(**kwargs: Any) -> fields.String:
    return fields.String(required=True, error_messages=MESSAGES, **kwargs)


class StrictSchema(Schema):
    """Rejects unknown fields, with Indonesian messages."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "kolom tidak dikenal", "type": "data harus berupa objek JSON"}


class RegistrationSchema(StrictSchema):
    """`POST /registrations` body."""

    nip = text()
    nik = text()
    email = text()
    password = text()

    @validates("nip")
    def check_nip(self, value: str, **_: Any) -> None:
        try:
            parse_nip(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates("nik")
    def check_nik(self, value: str, **_: Any) -> None:
        problem = validate_nik(value)
        if problem:
            raise ValidationError(problem)

    @validates("email")
    def check_email(self, value: str, **_: Any) -> None:
        if not is_valid_email(value.strip()):
            raise ValidationError("alamat e-mail tidak valid")

    @validates("password")
    def check_password(self, value: str, **_: Any) -> None:
        problems = password_problems(value)
        if problems:
            raise ValidationError(problems)


class VerifierSchema(StrictSchema):
    """`POST /admin/verifiers` body."""

    username = text()
    password = text()
    instansi_kode = text()

    @validates("username")
    def check_username(self, value: str, **_: Any) -> None:
        if not USERNAME_PATTERN.match(value) or looks_like_nip(value):
            raise ValidationError("3–32 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung; "
                                  "diawali huruf")

    @validates("password")
    def check_password(self, value: str, **_: Any) -> None:
        problems = password_problems(value)
        if problems:
            raise ValidationError(problems)

    @validates("instansi_kode")
    def check_instansi(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError("wajib diisi")


class CampaignSchema(StrictSchema):
    """`PUT /admin/campaign` body: ISO 8601 timestamps with an offset."""

    opens_at = text()
    closes_at = text()

    @validates_schema
    def check_window(self, data: dict, **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        parsed = {}
        for key in ("opens_at", "closes_at"):
            try:
                parsed[key] = parse_aware(data[key])
            except ValueError:
                errors[key] = ["harus berupa waktu ISO 8601 dengan zona waktu, mis. 2025-09-01T00:00:00+07:00"]
        if not errors and parsed["closes_at"] <= parsed["opens_at"]:
            errors["closes_at"] = ["harus setelah opens_at"]
        if errors:
            raise ValidationError(errors)


class ReasonSchema(StrictSchema):
    """An administrator's reason (reinstatement): required, not blank."""

    reason = text(validate=validate.Length(max=1000, error="paling banyak 1000 karakter"))

    @validates("reason")
    def check_reason(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError("wajib diisi")


def load(schema: Schema, payload: Any) -> dict:
    """Validated data, or a 422 `validation_error` carrying per-field reasons."""
    if not isinstance(payload, dict):
        raise validation_error({"_schema": ["data harus berupa objek JSON"]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise validation_error({key: value if isinstance(value, list) else [str(value)]
                                for key, value in messages.items()}) from None


REGISTRATION = RegistrationSchema()  # built once: a registration day loads thousands a minute


def load_registration(payload: Any) -> dict:
    data = load(REGISTRATION, payload)
    return {**data, "nip": normalize_nip(data["nip"]), "email": data["email"].strip()}
