"""Upload rules: document kinds, content sniffing and size limits (no framework code)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from pupns.errors import AppError, validation_error

PDF, JPEG = "application/pdf", "image/jpeg"
KINDS: tuple[str, ...] = ("ijazah", "transkrip", "sk_cpns", "sk_pns", "sk_pangkat", "sk_jabatan",
                          "sertifikat", "str", "surat_pernyataan", "foto", "lainnya")
MAX_FILENAME = 200
KIB = 1024


@dataclass(frozen=True)
class UploadLimits:
    """Largest accepted upload per content type, in bytes (the service's Settings hold the configured ones)."""

    pdf_bytes: int = 1024 * KIB
    jpeg_bytes: int = 200 * KIB


def expected_type(kind: str) -> str:
    """`foto` is the JPEG photo; every other kind is a PDF."""
    return JPEG if kind == "foto" else PDF


def sniff_type(content: bytes) -> str | None:
    """The content type decided by magic bytes, never by the file name."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def clean_filename(filename: str | None, content_type: str) -> str:
    """A safe display name: last path component, no control characters, bounded length."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name).strip()[:MAX_FILENAME]
    return name or ("foto.jpg" if content_type == JPEG else "dokumen.pdf")


@dataclass(frozen=True)
class Upload:
    """An accepted upload: checked bytes plus the facts recorded in DocumentUploaded."""

    kind: str
    content: bytes
    content_type: str
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)


def check_upload(kind: str, filename: str | None, content_b64: str,
                 limits: UploadLimits = UploadLimits()) -> Upload:  # noqa: B008 - frozen, shared safely
    """Validate an upload: 422 for an unknown kind or unreadable data, 413 too big, 415 wrong type."""
    if kind not in KINDS:
        raise validation_error({"kind": [f"harus salah satu dari: {', '.join(KINDS)}"]})
    try:
        content = base64.b64decode(content_b64 or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise validation_error({"file": ["isi berkas tidak dapat dibaca"]}) from None
    if not content:
        raise validation_error({"file": ["berkas kosong"]})
    wanted = expected_type(kind)
    limit = limits.jpeg_bytes if wanted == JPEG else limits.pdf_bytes
    if len(content) > limit:
        raise AppError("too_large", f"Ukuran berkas melebihi batas {limit // 1024} KiB.")
    actual = sniff_type(content)
    if actual != wanted:
        label = "JPEG" if wanted == JPEG else "PDF"
        raise AppError("unsupported_type", f"Berkas untuk jenis '{kind}' harus berformat {label}.")
    return Upload(kind, content, actual, clean_filename(filename, actual))


def can_read(document: dict, actor: dict | None) -> None:
    """Owner PNS, verifiers of the document's instansi and admins may read; 404 / 403 otherwise."""
    role = (actor or {}).get("role")
    if role == "admin":
        return
    if role == "verifier":
        if actor.get("instansi_kode") and actor.get("instansi_kode") == document.get("instansi_kode"):
            return
        raise AppError("forbidden")
    if role == "pns" and actor.get("id") == document.get("nip"):
        return
    raise AppError("not_found", "Dokumen tidak ditemukan.")
