"""The e-mails PNS receive, in Bahasa Indonesia (no framework code)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

SECTION_LABELS = {
    "data_utama": "Data Utama", "data_posisi": "Data Posisi", "riwayat_pendidikan": "Riwayat Pendidikan",
    "riwayat_golongan": "Riwayat Golongan", "riwayat_jabatan": "Riwayat Jabatan",
    "riwayat_diklat": "Riwayat Diklat", "riwayat_penghargaan": "Riwayat Penghargaan",
    "data_guru": "Data Guru", "data_dokter": "Data Dokter", "data_stakeholder": "Data Stakeholder",
}
SIGNATURE = "\n\nSalam,\nTim PUPNS - Badan Kepegawaian Negara\n\nE-mail ini dikirim otomatis; mohon tidak membalas."


@dataclass(frozen=True)
class Email:
    """One rendered e-mail: which template, its subject and plain-text body."""

    template: str
    subject: str
    body: str


def _greeting(nama: str | None) -> str:
    return f"Yth. {nama}," if nama else "Yth. Bapak/Ibu,"


def registration_received(nama: str | None, registration_number: str, receipt_url: str | None) -> Email:
    receipt = f"\n\nUnduh tanda bukti pendaftaran Anda di:\n{receipt_url}" if receipt_url else ""
    body = (f"{_greeting(nama)}\n\nPendaftaran Anda pada Pendataan Ulang PNS Elektronik (PUPNS) telah kami "
            f"terima dengan nomor pendaftaran:\n\n    {registration_number}{receipt}\n\n"
            "Cetak tanda bukti pendaftaran dan bawa ke BKD atau unit kepegawaian instansi Anda. "
            "Anda dapat masuk setelah pendaftaran dikonfirmasi oleh verifikator." + SIGNATURE)
    return Email("registration_received", f"Pendaftaran PUPNS diterima ({registration_number})", body)


def registration_confirmed(nama: str | None, registration_number: str, login_url: str) -> Email:
    body = (f"{_greeting(nama)}\n\nPendaftaran Anda dengan nomor {registration_number} telah dikonfirmasi "
            f"oleh verifikator. Silakan masuk menggunakan NIP dan kata sandi Anda di:\n{login_url}\n\n"
            "Lengkapi dan periksa data Anda, lalu kirimkan sebelum masa pendataan ulang berakhir." + SIGNATURE)
    return Email("registration_confirmed", "Pendaftaran dikonfirmasi, silakan masuk", body)


def registration_rejected(nama: str | None, registration_number: str, reason: str) -> Email:
    body = (f"{_greeting(nama)}\n\nPendaftaran Anda dengan nomor {registration_number} ditolak oleh "
            f"verifikator dengan alasan:\n\n    {reason or '-'}\n\n"
            "Anda dapat mendaftar kembali dengan data yang benar." + SIGNATURE)
    return Email("registration_rejected", "Pendaftaran PUPNS ditolak", body)


def submission_approved(nama: str | None) -> Email:
    body = (f"{_greeting(nama)}\n\nData Anda pada Pendataan Ulang PNS Elektronik telah diverifikasi dan "
            "dinyatakan sah. Anda dapat mencetak Profil PNS Anda melalui portal PUPNS." + SIGNATURE)
    return Email("submission_approved", "Data Anda telah diverifikasi", body)


def submission_returned(nama: str | None, notes: dict[str, str]) -> Email:
    lines = "\n".join(f"- {SECTION_LABELS.get(section, section)}: {text}" for section, text in (notes or {}).items())
    body = (f"{_greeting(nama)}\n\nData Anda dikembalikan oleh verifikator untuk diperbaiki. Catatan:\n\n"
            f"{lines or '- (tanpa catatan)'}\n\nSilakan masuk, perbaiki bagian tersebut, lalu kirim ulang "
            "formulir Anda." + SIGNATURE)
    return Email("submission_returned", "Data Anda dikembalikan untuk diperbaiki", body)


def _wib(at: str) -> str:
    """An ISO 8601 time as it is read in Jakarta: `31-12-2026 23:59 WIB`."""
    wib = datetime.fromisoformat(at).astimezone(timezone(timedelta(hours=7)))
    return wib.strftime("%d-%m-%Y %H:%M WIB")


def deadline_reminder(nama: str | None, closes_at: str) -> Email:
    body = (f"{_greeting(nama)}\n\nMasa Pendataan Ulang PNS Elektronik (PUPNS) berakhir pada {_wib(closes_at)}. "
            "Anda sudah mendaftar tetapi belum mengirim data. Silakan masuk, lengkapi data Anda dan kirimkan "
            "sebelum batas waktu. PNS yang tidak mengirim data sampai batas waktu berstatus tidak mendaftar "
            "ulang dan dikeluarkan dari basis data kepegawaian nasional sampai dipulihkan." + SIGNATURE)
    return Email("deadline_reminder", f"Pengingat: PUPNS berakhir {_wib(closes_at)}", body)


def not_reregistered(nama: str | None, closes_at: str) -> Email:
    body = (f"{_greeting(nama)}\n\nMasa Pendataan Ulang PNS Elektronik berakhir pada {_wib(closes_at)} dan kami "
            "tidak menerima kiriman data Anda. Status Anda sekarang: tidak mendaftar ulang (dikeluarkan dari basis "
            "data kepegawaian nasional sampai dipulihkan oleh administrator BKN). Hubungi unit kepegawaian instansi "
            "Anda bila Anda merasa sudah mengirim data." + SIGNATURE)
    return Email("not_reregistered", "Status PUPNS Anda: tidak mendaftar ulang", body)


def reinstated(nama: str | None, reason: str) -> Email:
    body = (f"{_greeting(nama)}\n\nStatus tidak mendaftar ulang Anda telah dicabut (dipulihkan) dengan "
            f"keterangan:\n\n    {reason or '-'}\n\nData Anda kembali tercatat pada basis data kepegawaian "
            "nasional." + SIGNATURE)
    return Email("reinstated", "Status PUPNS Anda dipulihkan", body)

