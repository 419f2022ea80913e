"""Marshmallow schemas at the boundary: request bodies (unknown fields rejected) and documented answers.

One request-schema layer: the edge checks a body's shape (an object, the fields it may have, which are required,
their types); the rules on the values belong to the service that owns them and are checked there. Two checks
stay at the edge: login's bounded, non-empty username and password (identity has no rule for them, and the
login rate limit keys on the username before any call), and an upload's kind (the edge picks the size limit by
kind before it reads the file; documents checks the kind again).
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

DOCUMENT_KINDS = ("ijazah", "transkrip", "sk_cpns", "sk_pns", "sk_pangkat", "sk_jabatan", "sertifikat",
                  "str", "surat_pernyataan", "foto", "lainnya")

# marshmallow's English messages, shown to users in Indonesian.
MESSAGES_ID = {
    "Missing data for required field.": "Wajib diisi.",
    "Unknown field.": "Kolom tidak dikenal.",
    "Field may not be null.": "Tidak boleh kosong.",
    "Not a valid string.": "Harus berupa teks.",
    "Not a valid email address.": "Alamat e-mail tidak valid.",
    "Invalid input type.": "Jenis data tidak valid.",
    "Not a valid mapping type.": "Harus berupa objek.",
    "Not a valid datetime.": "Tanggal dan waktu tidak valid (ISO 8601).",
    "Not a valid aware datetime.": "Tanggal dan waktu harus menyertakan zona waktu.",
}


def translate(messages: object) -> dict[str, list[str]]:
    """Flatten marshmallow errors into {field: [Indonesian reason]}."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_schema", []).extend(MESSAGES_ID.get(v, v) for v in value)
        else:
            out.setdefault(prefix or "_schema", []).append(MESSAGES_ID.get(str(value), str(value)))

    walk("", messages)
    return out


def string(**kwargs) -> fields.String:
    """A required string: its rules are the owning service's (identity's schemas)."""
    return fields.String(required=True, **kwargs)


def text(max_len: int = 200, **kwargs) -> fields.String:
    """A required, non-empty string of bounded length."""
    messages = {"length": f"Panjang harus 1 sampai {max_len} karakter."}
    return fields.String(required=True, validate=validate.Length(min=1, max=max_len),
                         error_messages=messages, **kwargs)


class StrictSchema(Schema):
    """Rejects unknown fields."""

    class Meta:
        unknown = RAISE


class RegistrationSchema(StrictSchema):
    """POST /registrations: identity checks NIP, NIK, e-mail and password."""

    nip = string()
    nik = string()
    email = string(metadata={"format": "email"})
    password = string()


class TokenRequestSchema(StrictSchema):
    username = text(100)
    password = text(200)


class PasswordChangeSchema(StrictSchema):
    """POST /auth/password: identity checks the current password and the new one's policy (as at registration)."""

    current_password = string()
    new_password = string()


class ReasonSchema(StrictSchema):
    """A staff member's reason: its owner checks it (not blank in every owner; verification's reject, forms'
    reopen and identity's reinstatement also cap it at 1000 characters)."""

    reason = string()


class ReturnNotesSchema(StrictSchema):
    notes = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class VerifierCreateSchema(StrictSchema):
    """POST /admin/verifiers: identity checks the username, the password and the instansi."""

    username = string()
    password = string()
    instansi_kode = string()


class CampaignSchema(StrictSchema):
    """PUT /admin/campaign: identity checks both are ISO 8601 with an offset and that the window is not empty."""

    opens_at = string(metadata={"format": "date-time"})
    closes_at = string(metadata={"format": "date-time"})


class UploadFormSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RegistrationCreatedSchema(Schema):
    registration_number = fields.String()
    nip = fields.String()
    nama = fields.String()
    instansi_nama = fields.String()
    status = fields.String()
    receipt_url = fields.String()


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()


class PasswordChangedSchema(TokenSchema):
    """The caller's older tokens stop working within seconds: the answer carries a fresh one."""

    username = fields.String()
    changed_at = fields.String()


class VersionSchema(Schema):
    version = fields.Integer()


class DocumentSchema(Schema):
    document_id = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class JobAcceptedSchema(Schema):
    job_id = fields.String()
    status_url = fields.String()


class JobProgressSchema(Schema):
    done = fields.Integer()
    total = fields.Integer()


class AuditReportSchema(Schema):
    """Every service's hash chains checked (SPEC §6); each broken item names its service, stream and reason."""

    streams_checked = fields.Integer()
    events_checked = fields.Integer()
    broken = fields.List(fields.Dict())


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": ["roster_import", "campaign_close", "audit_verify"]})
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    progress = fields.Nested(JobProgressSchema)
    result = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    status_url = fields.String()


class ErrorBodySchema(Schema):
    code = fields.String(required=True)  # required: documented as always present in the envelope
    message = fields.String(required=True)
    field_reasons = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)


def load(schema: Schema, data: object) -> dict:
    """Validate `data`; 422 `validation_error` with Indonesian field reasons otherwise."""
    from pupns.errors import validation_error

    if not isinstance(data, dict):
        raise validation_error({"_schema": ["Isi permintaan harus berupa objek JSON."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(translate(exc.messages)) from None
