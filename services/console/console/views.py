"""Server-rendered HTML of the console (Bahasa Indonesia); every value is escaped here."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any
from urllib.parse import quote

from pupns.nip import GOLONGAN

SECTION_LABELS = {
    "data_utama": "Data Utama", "data_posisi": "Data Posisi", "riwayat_pendidikan": "Riwayat Pendidikan",
    "riwayat_golongan": "Riwayat Golongan", "riwayat_jabatan": "Riwayat Jabatan",
    "riwayat_diklat": "Riwayat Diklat", "riwayat_penghargaan": "Riwayat Penghargaan",
    "data_guru": "Data Guru", "data_dokter": "Data Dokter", "data_stakeholder": "Data Stakeholder",
}

FIELD_LABELS = {
    "nama": "Nama", "gelar_depan": "Gelar depan", "gelar_belakang": "Gelar belakang", "tempat_lahir": "Tempat lahir",
    "tanggal_lahir": "Tanggal lahir", "jenis_kelamin": "Jenis kelamin", "agama": "Agama",
    "status_perkawinan": "Status perkawinan", "nik": "NIK", "npwp": "NPWP", "alamat": "Alamat", "no_hp": "Nomor HP",
    "email": "E-mail", "instansi_kode": "Kode instansi", "unit_kerja": "Unit kerja", "jenis_jabatan": "Jenis jabatan",
    "jabatan": "Jabatan", "tmt_jabatan": "TMT jabatan", "lokasi_kerja": "Lokasi kerja", "tingkat": "Tingkat",
    "nama_sekolah": "Nama sekolah", "jurusan": "Jurusan", "tahun_lulus": "Tahun lulus", "nomor_ijazah": "Nomor ijazah",
    "document_id": "Dokumen", "golongan": "Golongan", "tmt": "TMT", "nomor_sk": "Nomor SK", "tanggal_sk": "Tanggal SK",
    "jenis": "Jenis", "tahun": "Tahun", "jam_pelajaran": "Jam pelajaran", "nuptk": "NUPTK",
    "sertifikasi": "Sertifikasi", "nomor_sertifikat": "Nomor sertifikat", "mata_pelajaran": "Mata pelajaran",
    "sekolah": "Sekolah", "nomor_str": "Nomor STR", "tanggal_str": "Tanggal STR", "berlaku_sampai": "Berlaku sampai",
    "spesialisasi": "Spesialisasi", "nomor_sip": "Nomor SIP", "bapertarum_nomor": "Nomor Bapertarum",
    "bpjs_kesehatan_nomor": "Nomor BPJS Kesehatan", "kpe_nomor": "Nomor KPE", "taspen_nomor": "Nomor Taspen",
}
ROLE_LABELS = {"verifier": "verifikator", "admin": "administrator"}
BULAN = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
WIB = timezone(timedelta(hours=7))


def when(value: Any) -> str:
    """An ISO 8601 timestamp as Indonesians read it, in WIB: `24 Nov 2026 17.17 WIB`."""
    try:
        at = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return e(value)
    if at.tzinfo is None:
        return e(value)
    at = at.astimezone(WIB)
    return f'<time datetime="{escape(str(value))}">{at.day} {BULAN[at.month - 1]} {at.year} {at:%H.%M} WIB</time>'


def cell(name: Any, value: Any) -> str:
    """A form value for display: rank codes and sex spelled out, everything else as stored."""
    if name == "golongan" and str(value) in GOLONGAN:
        return f"{e(value)} ({escape(GOLONGAN[str(value)])})"
    if name == "jenis_kelamin" and value in ("L", "P"):
        return "Laki-laki" if value == "L" else "Perempuan"
    return e(value)


def field_label(name: Any) -> str:
    return escape(FIELD_LABELS.get(str(name), str(name)))


def e(value: Any) -> str:
    """Display text for any value, HTML-escaped."""
    if value is None or value == "":
        return "&mdash;"
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    return escape(str(value))


def label(section: str) -> str:
    return escape(SECTION_LABELS.get(section, section))


def scroll_region(table: str, name: str) -> str:
    """A wide table that scrolls sideways inside its own region on a narrow screen, so the page never does;
    the region takes keyboard focus so that it can be scrolled without a mouse."""
    return f'<div class="scroll" role="region" aria-label="{escape(name)}" tabindex="0">{table}</div>'


def hidden_csrf(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(csrf)}">'


def layout(title: str, body: str, user: dict | None = None, csrf: str = "", flash: str | None = None,
           error: str | None = None, head: str = "") -> str:
    nav = ""
    if user:
        scope = f", instansi {e(user['instansi_kode'])}" if user.get("instansi_kode") else ""
        who = f"{e(user['sub'])} ({e(ROLE_LABELS.get(user['role'], user['role']))}{scope})"
        admin = ' <a href="/admin">Administrasi</a>' if user.get("role") == "admin" else ""
        nav = (f'<nav aria-label="Menu konsol"><a href="/registrations">Pendaftaran</a> '
               f'<a href="/submissions">Pengajuan data</a>{admin} <a href="/kata-sandi">Ganti kata sandi</a>'
               f'<span class="who">{who}</span><form method="post" action="/logout" class="inline">'
               f'{hidden_csrf(csrf)}<button type="submit">Keluar</button></form></nav>')
    notices = (f'<p class="flash" role="status">{escape(flash)}</p>' if flash else "") + (
        f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
    return (f'<!doctype html><html lang="id"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · Konsol Verifikator PUPNS</title>{head}'
            f'<link rel="stylesheet" href="/static/console.css"></head><body>'
            f'<header><strong>Konsol Verifikator PUPNS</strong>{nav}</header>'
            f'<main><h1>{escape(title)}</h1>{notices}{body}</main></body></html>')


def login_page(nonce: str, username: str = "", error: str | None = None, flash: str | None = None) -> str:
    body = (f'<form method="post" action="/login" class="login">'
            f'<input type="hidden" name="login_nonce" value="{escape(nonce)}">'
            f'<label>Nama pengguna <input name="username" value="{escape(username)}" required autofocus '
            f'autocomplete="username"></label>'
            f'<label>Kata sandi <input name="password" type="password" required '
            f'autocomplete="current-password"></label><button type="submit">Masuk</button></form>')
    return layout("Masuk", body, flash=flash, error=error)


def _pager(base: str, next_cursor: str | None) -> str:
    if not next_cursor:
        return ""
    return f'<p><a href="{base}?cursor={quote(str(next_cursor))}">Halaman berikutnya &raquo;</a></p>'


def registrations_page(user: dict, csrf: str, items: list[dict], next_cursor: str | None, **notices) -> str:
    if not items:
        rows = '<tr><td colspan="5">Tidak ada pendaftaran yang menunggu konfirmasi.</td></tr>'
    else:
        rows = "".join(
            f'<tr><td class="nowrap">{e(i.get("registration_number"))}</td><td class="nowrap">{e(i.get("nip"))}</td>'
            f'<td>{e(i.get("nama"))}</td><td>{when(i.get("registered_at"))}</td><td class="actions">'
            f'<form method="post" action="/registrations/{quote(str(i.get("nip")))}/confirm" class="inline">'
            f'{hidden_csrf(csrf)}<button type="submit">Konfirmasi</button></form>'
            f'<form method="post" action="/registrations/{quote(str(i.get("nip")))}/reject" class="inline">'
            f'{hidden_csrf(csrf)}<label>Alasan penolakan<span class="visually-hidden"> NIP {e(i.get("nip"))}</span> '
            f'<input name="alasan" required></label>'
            f'<button type="submit" class="danger">Tolak</button></form></td></tr>' for i in items)
    table = ('<table><thead><tr><th>Nomor pendaftaran</th><th>NIP</th><th>Nama</th><th>Waktu daftar</th>'
             f'<th>Tindakan</th></tr></thead><tbody>{rows}</tbody></table>')
    body = scroll_region(table, "Daftar pendaftaran") + _pager("/registrations", next_cursor)
    return layout("Pendaftaran menunggu konfirmasi", body, user, csrf, **notices)


def submissions_page(user: dict, csrf: str, items: list[dict], next_cursor: str | None, **notices) -> str:
    if not items:
        rows = '<tr><td colspan="4">Tidak ada pengajuan data yang menunggu verifikasi.</td></tr>'
    else:
        rows = "".join(
            f'<tr><td><a href="/submissions/{quote(str(i.get("nip")))}">{e(i.get("nip"))}</a></td>'
            f'<td>{e(i.get("nama"))}</td><td>{when(i.get("submitted_at"))}</td>'
            f'<td>{e(i.get("anomaly_count", 0))}</td></tr>' for i in items)
    body = ('<p><a class="button" href="/submissions.csv" download>Unduh CSV</a> (semua pengajuan instansi Anda, '
            'semua status)</p>'
            + scroll_region('<table><thead><tr><th>NIP</th><th>Nama</th><th>Dikirim</th><th>Anomali</th></tr>'
                            f'</thead><tbody>{rows}</tbody></table>', "Daftar pengajuan")
            + _pager("/submissions", next_cursor))
    return layout("Pengajuan data", body, user, csrf, **notices)


def _anomaly_text(anomaly: Any) -> str:
    if isinstance(anomaly, dict):
        return e(anomaly.get("message") or anomaly.get("detail") or anomaly.get("code"))
    return e(anomaly)


def _value_table(value: Any, name: str) -> str:
    if isinstance(value, dict):
        return "<table class=\"kv\">" + "".join(
            f"<tr><th>{field_label(k)}</th><td>{cell(k, v)}</td></tr>" for k, v in value.items()) + "</table>"
    if isinstance(value, list):
        if not value:
            return "<p>Tidak ada data.</p>"
        columns = list(dict.fromkeys(k for item in value if isinstance(item, dict) for k in item))
        head = "".join(f"<th>{field_label(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{cell(c, item.get(c))}</td>" for c in columns) + "</tr>"
                       for item in value if isinstance(item, dict))
        return scroll_region(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", name)
    return f"<p>{e(value)}</p>"


def _document_item(document: Any) -> str:
    """A link to one referenced document: verification lists bare ids; richer entries show kind and name."""
    if isinstance(document, dict):
        doc_id, text = document.get("document_id"), f'{e(document.get("kind"))}: {e(document.get("filename"))}'
    else:
        doc_id, text = document, f"Dokumen {e(document)}"
    return f'<li><a href="/documents/{quote(str(doc_id))}">{text}</a></li>'


def submission_page(user: dict, csrf: str, nip: str, sub: dict, **notices) -> str:
    anomalies = sub.get("anomalies") or []
    anomaly_html = ("<ul class=\"anomalies\">" + "".join(f"<li>{_anomaly_text(a)}</li>" for a in anomalies)
                    + "</ul>") if anomalies else "<p>Tidak ada anomali.</p>"
    changes = sub.get("changes") or []
    change_rows = "".join(
        f'<tr><td>{label(c.get("section", ""))}</td><td>{field_label(c.get("field"))}</td>'
        f'<td class="from">{cell(c.get("field"), c.get("from"))}</td>'
        f'<td class="to">{cell(c.get("field"), c.get("to"))}</td></tr>' for c in changes)
    changes_html = scroll_region(
        '<table><thead><tr><th>Bagian</th><th>Isian</th><th>Data induk</th><th>Diajukan</th></tr>'
        f'</thead><tbody>{change_rows}</tbody></table>', "Perubahan terhadap data induk") if changes \
        else "<p>Tidak ada perubahan.</p>"
    documents = sub.get("documents") or []
    docs_html = ("<ul>" + "".join(_document_item(d) for d in documents) + "</ul>") if documents \
        else "<p>Tidak ada dokumen.</p>"
    sections = sub.get("sections") or {}
    sections_html = "".join(f"<h3>{label(k)}</h3>{_value_table(v, SECTION_LABELS.get(k, k))}"
                            for k, v in sections.items())
    notes = "".join(f'<label>{label(k)} <textarea name="catatan_{escape(k)}" rows="2"></textarea></label>'
                    for k in sections)
    quoted = quote(nip)
    summary = (f'<p>{e(sub.get("nama"))} &middot; dikirim {when(sub.get("submitted_at"))}</p>'
               if sub.get("submitted_at") else "")
    body = (f'<p><a href="/submissions">&laquo; Kembali ke daftar</a></p>{summary}'
            f'<h2>Anomali</h2>{anomaly_html}<h2>Perubahan terhadap data induk</h2>{changes_html}'
            f'<h2>Dokumen</h2>{docs_html}<h2>Isian formulir</h2>{sections_html}'
            f'<h2>Keputusan</h2><div class="decision">'
            f'<form method="post" action="/submissions/{quoted}/approve">{hidden_csrf(csrf)}'
            f'<button type="submit">Setujui</button></form>'
            f'<form method="post" action="/submissions/{quoted}/return" class="notes">{hidden_csrf(csrf)}'
            f'<p>Catatan per bagian (isi bagian yang perlu diperbaiki):</p>{notes}'
            f'<button type="submit" class="danger">Kembalikan</button></form></div>')
    return layout(f"Pengajuan data NIP {nip}", body, user, csrf, **notices)


def error_page(message: str, user: dict | None = None, csrf: str = "") -> str:
    back = '<p><a href="/">Kembali ke beranda</a></p>'
    return layout("Terjadi kendala", back, user, csrf, error=message)
