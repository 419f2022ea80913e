"""PDF rendering with reportlab: the registration receipt, the PNS profile and the Surat Pernyataan."""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")
SECTION_TITLES = {
    "data_utama": "Data Utama", "data_posisi": "Data Posisi", "riwayat_pendidikan": "Riwayat Pendidikan",
    "riwayat_golongan": "Riwayat Golongan", "riwayat_jabatan": "Riwayat Jabatan",
    "riwayat_diklat": "Riwayat Diklat", "riwayat_penghargaan": "Riwayat Penghargaan",
    "data_guru": "Data Guru", "data_dokter": "Data Dokter", "data_stakeholder": "Data Stakeholder",
}
_STYLES = getSampleStyleSheet()
_GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)])


def tanggal_indonesia(value: str | None) -> str:
    """'2015-09-01T10:00:00+07:00' -> '1 September 2015' (the raw text if it is not a date)."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def _para(text: Any, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape("-" if text is None or text == "" else str(text)), _STYLES[style])


def _key_value_table(rows: list[tuple[str, Any]]) -> Table:
    table = Table([[_para(k), _para(v)] for k, v in rows], colWidths=[55 * mm, 115 * mm])
    table.setStyle(_GRID)
    return table


def _render(title: str, flowables: list) -> bytes:
    buffer = io.BytesIO()
    # invariant=1 keeps the bytes (and so the SHA-256) stable for the same content.
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="BKN - PUPNS", invariant=1,
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm)
    doc.build([Paragraph(escape(title), _STYLES["Title"]), *flowables])
    return buffer.getvalue()


def render_receipt(registration: dict) -> bytes:
    """The 'Tanda Bukti Pendaftaran PUPNS' the PNS brings to the BKD."""
    rows = [
        ("Nomor Pendaftaran", registration.get("registration_number")),
        ("NIP", registration.get("nip")),
        ("Nama", registration.get("nama")),
        ("Instansi", registration.get("instansi_nama")),
        ("Unit Kerja", registration.get("unit_kerja")),
        ("Tanggal Pendaftaran", tanggal_indonesia(registration.get("registered_at"))),
    ]
    notice = ("Cetak tanda bukti ini dan bawa ke Badan Kepegawaian Daerah (BKD) atau unit kepegawaian "
              "instansi Anda untuk konfirmasi pendaftaran. Setelah pendaftaran dikonfirmasi oleh "
              "verifikator, Anda dapat masuk menggunakan NIP dan kata sandi Anda.")
    return _render("Tanda Bukti Pendaftaran PUPNS", [
        _para("Pendataan Ulang Pegawai Negeri Sipil secara Elektronik", "Heading3"),
        Spacer(1, 4 * mm), _key_value_table(rows), Spacer(1, 8 * mm), _para(notice),
    ])


def _section_flowables(key: str, value: Any) -> list:
    title = SECTION_TITLES.get(key, key.replace("_", " ").title())
    out: list = [Spacer(1, 5 * mm), _para(title, "Heading2")]
    if isinstance(value, dict):
        out.append(_key_value_table([(k.replace("_", " "), v) for k, v in value.items()]))
    elif isinstance(value, list):
        if not value:
            out.append(_para("Tidak ada data."))
        for index, item in enumerate(value, start=1):
            out.append(_para(f"{title} #{index}", "Heading4"))
            if isinstance(item, dict):
                out.append(_key_value_table([(k.replace("_", " "), v) for k, v in item.items()]))
            else:
                out.append(_para(item))
    else:
        out.append(_para(value))
    return out


def render_profile(data: dict) -> bytes:
    """The 'Profil PNS': header fields, then one block per form section."""
    sections = data.get("sections") if isinstance(data.get("sections"), dict) else data
    header = [(label, data.get(key)) for key, label in (("nip", "NIP"), ("nama", "Nama"), ("status", "Status"))
              if data.get(key)]
    if data.get("submitted_at"):
        header.append(("Tanggal Pengiriman", tanggal_indonesia(data["submitted_at"])))
    flowables: list = [_key_value_table(header)] if header else []
    for key, value in sections.items():
        if key in ("nip", "nama", "status", "submitted_at"):
            continue
        flowables.extend(_section_flowables(key, value))
    return _render("Profil PNS", flowables)


def _waktu(value: str | None) -> str:
    """'2015-09-01T10:00:00+07:00' -> '1 September 2015 pukul 10:00:00 (UTC+07:00)'."""
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return tanggal_indonesia(value)
    offset = moment.strftime("%z")
    zone = f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
    return f"{tanggal_indonesia(value)} pukul {moment:%H:%M:%S}{zone}"


def render_statement(statement: dict) -> bytes:
    """The 'Surat Pernyataan' a PNS makes by submitting: the data sent is true (stamped with e-Meterai)."""
    posisi = (statement.get("sections") or {}).get("data_posisi") or {}
    rows = [("Nama", statement.get("nama")), ("NIP", statement.get("nip")),
            ("Instansi", statement.get("instansi_kode")), ("Unit Kerja", posisi.get("unit_kerja")),
            ("Jabatan", posisi.get("jabatan")), ("Waktu Pengiriman Data", _waktu(statement.get("submitted_at")))]
    declaration = ("dengan ini menyatakan dengan sesungguhnya bahwa data yang saya sampaikan melalui Pendataan "
                   "Ulang Pegawai Negeri Sipil secara Elektronik (PUPNS) pada waktu tersebut di atas adalah benar "
                   "dan sesuai dengan dokumen aslinya. Apabila di kemudian hari ternyata terdapat data yang tidak "
                   "benar, saya bersedia menerima sanksi sesuai dengan ketentuan peraturan perundang-undangan.")
    sent = ", ".join(SECTION_TITLES.get(k, k) for k in (statement.get("sections") or {})) or "-"
    stamp_box = Table([[_para("Tempat e-Meterai")]], colWidths=[45 * mm], rowHeights=[30 * mm])
    stamp_box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.grey),
                                   ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    notice = ("e-Meterai dibubuhkan secara elektronik setelah data dikirim. Waktu pengiriman data yang berlaku "
              "adalah waktu tersebut di atas, bukan waktu pembubuhan e-Meterai.")
    return _render("Surat Pernyataan", [
        _para("Yang bertanda tangan di bawah ini:"), Spacer(1, 3 * mm), _key_value_table(rows),
        Spacer(1, 4 * mm), _para(declaration), Spacer(1, 3 * mm),
        _key_value_table([("Bagian data yang dikirim", sent),
                          ("Sidik data (SHA-256)", statement.get("data_sha256"))]),
        Spacer(1, 8 * mm), _para(f"Yang menyatakan, {statement.get('nama') or ''}"), stamp_box,
        Spacer(1, 6 * mm), _para(notice),
    ])
