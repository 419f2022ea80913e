"""E-mail texts, encoding and the retry schedule of the notifications service."""
from __future__ import annotations

import email
from email import policy

from notifications.adapters.mailer import build_message
from notifications.domain import templates
from notifications.settings import Settings


def test_returned_mail_lists_notes_by_section_label():
    mail = templates.submission_returned("Budi", {"data_utama": "NIK salah", "x_lain": "cek"})
    assert "- Data Utama: NIK salah" in mail.body and "- x_lain: cek" in mail.body
    assert mail.body.startswith("Yth. Budi,")


def test_unknown_name_gets_a_polite_generic_greeting():
    assert templates.submission_approved(None).body.startswith("Yth. Bapak/Ibu,")


def test_rejection_carries_the_reason():
    mail = templates.registration_rejected("Siti", "PUPNS-2015-AAAABBBB", "NIK tidak cocok dengan KTP")
    assert "NIK tidak cocok dengan KTP" in mail.body and "PUPNS-2015-AAAABBBB" in mail.body


def test_backoff_is_exponential_and_capped(monkeypatch):
    monkeypatch.setenv("PUPNS_MAIL_RETRY_BASE", "2")
    monkeypatch.setenv("PUPNS_MAIL_RETRY_MAX", "60")
    assert [Settings.from_env().mail_backoff.delay(n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 60]


def test_message_is_utf8_with_an_encoded_subject():
    msg = build_message("siti@example.go.id", "Pendaftaran — dikonfirmasi", "Salam hangat, Ibu Siti ✓", "abc")
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0]  # RFC 2047 header, nothing raw in the headers
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Pendaftaran — dikonfirmasi"
    assert parsed.get_content().strip() == "Salam hangat, Ibu Siti ✓"
    assert parsed["Message-ID"] == "<abc@pupns>"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_content_charset() == "utf-8"


def test_a_long_subject_and_body_line_are_folded_and_read_back_whole():
    subject = "Pengingat — batas waktu pendataan ulang PNS elektronik berakhir besok, segera lengkapi data Anda"
    body = "Yth. Ibu Siti, " + "data riwayat jabatan Anda belum lengkap; " * 6 + "✓"
    raw = build_message("siti@example.go.id", subject, body, "xyz").as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 78  # RFC 5322's line length, headers and body alike
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
    assert parsed.get_content().strip() == body
