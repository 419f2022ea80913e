"""One error type crossing every boundary, and the one table mapping codes to HTTP."""
from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import deserialize_to_instance

# code -> HTTP status. The only place this mapping lives.
STATUS_BY_CODE: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "invalid_credentials": 401,
    "forbidden": 403,
    "registration_pending": 403,
    "registration_rejected": 403,
    "not_found": 404,
    "unknown_section": 404,
    "method_not_allowed": 405,
    "already_registered": 409,
    "campaign_closed": 409,
    "version_conflict": 409,
    "form_locked": 409,
    "invalid_state": 409,
    "not_submitted": 409,
    "conflict": 409,
    "idempotency_conflict": 409,
    "too_large": 413,
    "unsupported_type": 415,
    "validation_error": 422,
    "nip_not_in_roster": 422,
    "nik_mismatch": 422,
    "section_not_applicable": 422,
    "incomplete": 422,
    "precondition_required": 428,
    "too_many_attempts": 429,
    "rate_limited": 429,
    "internal_error": 500,
    "not_implemented": 501,
    "queue": 503,
    "unavailable": 503,
}

# Default Indonesian messages; callers may pass a more specific one.
DEFAULT_MESSAGES: dict[str, str] = {
    "bad_request": "Permintaan tidak dapat dibaca.",
    "unauthorized": "Silakan masuk terlebih dahulu.",
    "invalid_credentials": "NIP/nama pengguna atau kata sandi salah.",
    "forbidden": "Anda tidak berwenang untuk tindakan ini.",
    "registration_pending": "Pendaftaran Anda belum dikonfirmasi oleh verifikator.",
    "registration_rejected": "Pendaftaran Anda ditolak. Silakan mendaftar ulang.",
    "not_found": "Data tidak ditemukan.",
    "method_not_allowed": "Metode HTTP tidak diizinkan untuk alamat ini.",
    "unknown_section": "Bagian formulir tidak dikenal.",
    "already_registered": "NIP ini sudah terdaftar.",
    "campaign_closed": "Masa pendataan ulang sedang tidak dibuka.",
    "version_conflict": "Data telah diubah di tempat lain. Muat ulang lalu coba lagi.",
    "form_locked": "Formulir sudah dikirim dan terkunci.",
    "invalid_state": "Tindakan tidak sesuai dengan status data saat ini.",
    "conflict": "Permintaan bertentangan dengan data saat ini.",
    "idempotency_conflict": "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda.",
    "not_submitted": "Formulir belum dikirim.",
    "too_large": "Ukuran data melebihi batas.",
    "unsupported_type": "Jenis data tidak didukung.",
    "validation_error": "Data tidak valid.",
    "nip_not_in_roster": "NIP tidak terdaftar dalam data induk.",
    "nik_mismatch": "NIK tidak sesuai dengan data induk.",
    "section_not_applicable": "Bagian ini tidak berlaku untuk jabatan Anda.",
    "incomplete": "Formulir belum lengkap.",
    "precondition_required": "Header If-Match wajib disertakan.",
    "too_many_attempts": "Terlalu banyak percobaan. Coba lagi nanti.",
    "rate_limited": "Terlalu banyak permintaan. Coba lagi nanti.",
    "internal_error": "Terjadi kesalahan pada sistem.",
    "not_implemented": "Fitur ini belum tersedia.",
    "queue": "Sistem sedang ramai. Anda berada dalam antrean.",
    "unavailable": "Layanan sedang tidak tersedia. Coba lagi sebentar lagi.",
}


_WIRE_PREFIX = '{"code"'


@deserialize_to_instance
class AppError(Exception):
    """A client-visible error: a spec code, an Indonesian message, optional field reasons.

    Registered with nameko so it crosses RPC as itself, not as a RemoteError.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if message is None and code.startswith(_WIRE_PREFIX):
            # Rebuilt by nameko on the calling side from the single JSON argument below; nameko
            # would otherwise stringify None and numbers inside the args.
            wire = json.loads(code)
            code, message, fields, extra = wire["code"], wire["message"], wire["fields"], wire["extra"]
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, code)
        self.fields = fields
        self.extra = extra or {}
        super().__init__(json.dumps({"code": code, "message": self.message, "fields": fields,
                                     "extra": self.extra}, ensure_ascii=False))

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 400)

    def envelope(self) -> dict[str, Any]:
        """The spec's error body, plus any extra top-level keys (e.g. `version`, `queue`)."""
        return error_envelope(self.code, self.message, self.fields, self.extra)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def error_envelope(code: str, message: str | None = None, fields: dict[str, list[str]] | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec's error body for `code` (its default message unless one is given), plus any extra top-level keys;
    what AppError.envelope gives, without building the exception (the edge's turn-aways under a flood)."""
    error: dict[str, Any] = {"code": code, "message": message or DEFAULT_MESSAGES.get(code, code)}
    if fields:
        error["fields"] = fields
    return {"error": error, **(extra or {})}


def validation_error(fields: dict[str, list[str]], message: str | None = None) -> AppError:
    """Shorthand for the 422 validation envelope."""
    return AppError("validation_error", message, fields)
