"""Upload rules and PDF rendering of the documents service, without any infrastructure."""
from __future__ import annotations

import base64

import pytest

from documents.adapters import pdf
from documents.domain import uploads as domain
from documents.settings import Settings
from pupns.errors import AppError

PDF = b"%PDF-1.7\n%%EOF"
JPEG = b"\xff\xd8\xff\xdb" + b"\x00" * 16


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_type_is_decided_by_magic_bytes_not_by_name():
    assert domain.check_upload("ijazah", "scan.jpg", encoded(PDF)).content_type == "application/pdf"
    assert domain.check_upload("foto", "foto.pdf", encoded(JPEG)).content_type == "image/jpeg"


def test_unknown_kind_is_a_validation_error_with_fields():
    with pytest.raises(AppError) as err:
        domain.check_upload("rapor", "a.pdf", encoded(PDF))
    assert err.value.status == 422 and "kind" in err.value.fields


def test_unreadable_or_empty_content_is_rejected():
    for content in ("***", ""):
        with pytest.raises(AppError) as err:
            domain.check_upload("ijazah", "a.pdf", content)
        assert err.value.code == "validation_error" and "file" in err.value.fields


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PUPNS_MAX_JPEG_BYTES", "10")
    with pytest.raises(AppError) as err:
        domain.check_upload("foto", "f.jpg", encoded(JPEG), Settings.from_env().uploads)
    assert err.value.code == "too_large" and err.value.status == 413


def test_filename_is_reduced_to_a_safe_basename():
    assert domain.clean_filename("C:\\Users\\x\\ijazah.pdf", domain.PDF) == "ijazah.pdf"
    assert domain.clean_filename("../../etc/\x00passwd", domain.PDF) == "passwd"
    assert domain.clean_filename("", domain.JPEG) == "foto.jpg"


@pytest.mark.parametrize("actor, code", [
    ({"id": "1", "role": "pns"}, None),
    ({"id": "2", "role": "pns"}, "not_found"),
    ({"id": "v", "role": "verifier", "instansi_kode": "A"}, None),
    ({"id": "v", "role": "verifier", "instansi_kode": "B"}, "forbidden"),
    ({"id": "admin", "role": "admin"}, None),
    (None, "not_found"),
])
def test_who_may_read_a_document(actor, code):
    document = {"nip": "1", "instansi_kode": "A"}
    if code is None:
        domain.can_read(document, actor)
        return
    with pytest.raises(AppError) as err:
        domain.can_read(document, actor)
    assert err.value.code == code


def test_receipt_pdf_is_stable_for_the_same_registration():
    registration = {"registration_number": "PUPNS-2015-ABCDEFGH", "nip": "198001012005011001",
                    "nama": "Siti Rahayu", "instansi_nama": "Kota Bandung", "unit_kerja": "Disdik",
                    "registered_at": "2015-09-01T10:00:00+07:00"}
    first = pdf.render_receipt(registration)
    assert first.startswith(b"%PDF-") and first == pdf.render_receipt(registration)


def test_dates_are_written_in_indonesian():
    assert pdf.tanggal_indonesia("2015-09-01T10:00:00+07:00") == "1 September 2015"
    assert pdf.tanggal_indonesia(None) == "-"
