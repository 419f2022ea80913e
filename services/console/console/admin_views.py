"""Server-rendered administrator pages (Bahasa Indonesia): progress, campaign, verifiers, master roster."""
from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from console.admin_chart import percent, progress_chart
from console.views import WIB, e, hidden_csrf, layout, scroll_region, when

TABS = (("/admin", "Progres pendataan"), ("/admin/kampanye", "Kampanye"), ("/admin/verifikator", "Verifikator"),
        ("/admin/data-induk", "Data induk"), ("/admin/audit", "Audit"))
COLUMNS = (("roster", "Data induk"), ("registered", "Mendaftar"), ("confirmed", "Dikonfirmasi"),
           ("submitted", "Menunggu verifikasi"), ("verified", "Terverifikasi"), ("returned", "Dikembalikan"),
           ("not_reregistered", "Tidak mendaftar ulang"), ("anomalies", "Anomali"),
           ("selundupan", "NIP tak dikenal"))
FIELD_NAMES = {"username": "Nama pengguna", "password": "Kata sandi", "instansi_kode": "Instansi",
               "opens_at": "Dibuka", "closes_at": "Ditutup", "reason": "Alasan", "_schema": "Formulir"}
ROSTER_SHOWN = 1000  # rejected rows listed on the page; the count always covers all of them


def number(value: Any) -> str:
    """`12.345` (Indonesian thousands separator)."""
    try:
        return f"{int(value):,}".replace(",", ".")
    except (TypeError, ValueError):
        return e(value)


def admin_layout(title: str, active: str, body: str, user: dict, csrf: str, head: str = "", **notices) -> str:
    current = ' aria-current="page"'
    tabs = "".join(f'<a href="{href}"{current if href == active else ""}>{escape(text)}</a>' for href, text in TABS)
    return layout(title, f'<nav class="tabs" aria-label="Menu administrasi">{tabs}</nav>{body}', user, csrf,
                  head=head, **notices)


def field_error(fields: dict | None, name: str) -> str:
    reasons = (fields or {}).get(name)
    if not reasons:
        return ""
    text = "; ".join(str(r) for r in (reasons if isinstance(reasons, list) else [reasons]))
    return f'<span class="field-error" id="err-{escape(name)}">{escape(text)}</span>'


def invalid(fields: dict | None, name: str) -> str:
    return f' aria-invalid="true" aria-describedby="err-{escape(name)}"' if (fields or {}).get(name) else ""


def other_errors(fields: dict | None, known: tuple[str, ...]) -> str:
    rest = {k: v for k, v in (fields or {}).items() if k not in known}
    if not rest:
        return ""
    items = "".join(f"<li>{escape(FIELD_NAMES.get(k, k))}: {escape('; '.join(map(str, v)))}</li>"
                    for k, v in rest.items())
    return f'<ul class="field-errors">{items}</ul>'


# -- progress --------------------------------------------------------------------------------------------
def _progress_row(name: str, row: dict, cls: str = "") -> str:
    done = sum(int(row.get(k) or 0) for k in ("submitted", "verified", "returned"))
    cells = "".join(f'<td class="num">{number(row.get(key, 0))}</td>' for key, _ in COLUMNS)
    return (f'<tr{cls}><th scope="row">{escape(name)}</th>{cells}'
            f'<td class="num">{percent(done, int(row.get("roster") or 0))}</td></tr>')


def dashboard_page(user: dict, csrf: str, progress: dict, campaign: dict, **notices) -> str:
    totals, rows = progress.get("totals") or {}, progress.get("by_instansi") or []
    head = "".join(f'<th scope="col">{escape(text)}</th>' for _, text in COLUMNS)
    body_rows = "".join(_progress_row("tidak diketahui" if r.get("instansi_kode") == "unknown"
                                      else str(r.get("instansi_kode")), r) for r in rows)
    state = "dibuka" if campaign.get("is_open") else "tidak dibuka"
    window = (f' ({when(campaign.get("opens_at"))} &ndash; {when(campaign.get("closes_at"))})'
              if campaign.get("closes_at") else "")
    cards = "".join(f'<div class="card"><span class="big">{number(totals.get(key, 0))}</span>{escape(text)}</div>'
                    for key, text in COLUMNS[:7])
    body = (f'<p>Kampanye saat ini <strong>{state}</strong>{window}. Angka per {when(datetime.now(WIB).isoformat())}; '
            f'<a href="/admin">perbarui angka</a>.</p><div class="cards">{cards}</div>'
            f'<h2>Diagram progres</h2><figure tabindex="0">{progress_chart(totals, rows)}<figcaption>Setiap batang '
            f'adalah data induk satu instansi (100 %). Arahkan penunjuk ke bagian batang untuk melihat jumlahnya; '
            f'angka lengkap ada di tabel.</figcaption></figure>'
            f'<h2>Tabel progres per instansi</h2>'
            f'<p><a class="button" href="/admin/progres.csv" download>Unduh CSV</a> (satu baris per instansi)</p>'
            + scroll_region(f'<table class="progress"><thead><tr>'
                            f'<th scope="col">Instansi</th>{head}<th scope="col">Sudah mengirim</th></tr></thead>'
                            f'<tbody>{body_rows or "<tr><td colspan=11>Belum ada data induk.</td></tr>"}</tbody>'
                            f'<tfoot>{_progress_row("Jumlah", totals)}</tfoot></table>', "Tabel progres per instansi")
            + '<p class="hint">Mendaftar = menunggu konfirmasi atau dikonfirmasi; menunggu verifikasi, terverifikasi '
            'dan dikembalikan = status formulir PNS yang sudah dikonfirmasi; anomali = PNS data induk dengan '
            'minimal satu tanda anomali pada data induk atau pada formulir terakhir yang dikirim (misalnya NIK '
            'yang sama pada dua NIP), ditambah percobaan NIP tak dikenal yang dikaitkan ke instansi.</p>')
    # No self-reload (it was every 60 s): a page that reloads by itself moves a screen reader and the
    # keyboard focus back to the top, and axe-core counts a timed meta refresh as a critical failure.
    return admin_layout("Progres pendataan", "/admin", body, user, csrf, **notices)


# -- campaign --------------------------------------------------------------------------------------------
def wib_input(value: Any) -> str:
    """An ISO 8601 timestamp as a datetime-local value in WIB."""
    try:
        at = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return ""
    return at.astimezone(WIB).strftime("%Y-%m-%dT%H:%M") if at.tzinfo else ""


def campaign_page(user: dict, csrf: str, campaign: dict, values: dict | None = None, fields: dict | None = None,
                  **notices) -> str:
    values = values or {key: wib_input(campaign.get(key)) for key in ("opens_at", "closes_at")}
    if campaign.get("closes_at"):
        state = ('<strong class="open">dibuka</strong>' if campaign.get("is_open")
                 else '<strong class="closed">tidak dibuka</strong>')
        status = (f'<table class="kv summary"><tr><th>Dibuka</th><td>{when(campaign.get("opens_at"))}</td></tr>'
                  f'<tr><th>Ditutup</th><td>{when(campaign.get("closes_at"))}</td></tr>'
                  f'<tr><th>Status saat ini</th><td>{state}</td></tr></table>')
    else:
        status = "<p>Kampanye belum pernah dijadwalkan.</p>"
    inputs = "".join(
        f'<label>{escape(FIELD_NAMES[key])} (WIB) <input type="datetime-local" name="{key}" required '
        f'value="{escape(values.get(key, ""))}"{invalid(fields, key)}>{field_error(fields, key)}</label>'
        for key in ("opens_at", "closes_at"))
    close = ('<h2>Tutup kampanye</h2><p>Menutup kampanye sekarang menandai setiap PNS data induk yang belum '
             'mengirim data sebagai <em>tidak mendaftar ulang</em>.</p><form method="get" '
             'action="/admin/kampanye/tutup"><button type="submit" class="danger">Tutup kampanye&hellip;</button>'
             '</form>') if campaign.get("closes_at") else ""
    body = (f'<h2>Jadwal</h2>{status}<h2>Atur atau perpanjang jadwal</h2>'
            f'<form method="post" action="/admin/kampanye" class="stack">{hidden_csrf(csrf)}{inputs}'
            f'{other_errors(fields, ("opens_at", "closes_at"))}'
            f'<button type="submit">Simpan jadwal</button></form>{close}')
    return admin_layout("Kampanye", "/admin/kampanye", body, user, csrf, **notices)


def close_confirm_page(user: dict, csrf: str, campaign: dict, totals: dict) -> str:
    roster = int(totals.get("roster") or 0)
    sent = sum(int(totals.get(k) or 0) for k in ("submitted", "verified", "returned"))
    estimate = max(0, roster - sent)
    body = (f'<div class="confirm" role="alert"><p>Kampanye akan ditutup <strong>sekarang</strong> (jadwal '
            f'tutup saat ini: {when(campaign.get("closes_at"))}).</p><p>Sekitar <strong>{number(estimate)}</strong> '
            f'dari {number(roster)} PNS data induk belum mengirim data dan akan ditandai <em>tidak mendaftar '
            f'ulang</em> (sanksi: dikeluarkan dari basis data nasional sampai dipulihkan administrator). '
            f'Sudah ditandai sebelumnya: {number(totals.get("not_reregistered", 0))}.</p>'
            f'<p>Setelah ditutup, pendaftaran, penyimpanan dan pengiriman data oleh PNS ditolak sampai kampanye '
            f'dijadwalkan ulang.</p></div>'
            f'<form method="post" action="/admin/kampanye/tutup" class="inline">{hidden_csrf(csrf)}'
            f'<button type="submit" class="danger">Ya, tutup kampanye sekarang</button></form> '
            f'<a href="/admin/kampanye">Batal</a>')
    return admin_layout("Tutup kampanye?", "/admin/kampanye", body, user, csrf)


def close_summary(result: dict) -> str:
    """The result of a campaign close."""
    return (f'<p>Jumlah PNS berstatus <em>tidak mendaftar ulang</em>: '
            f'<strong class="big">{number(result.get("not_reregistered", 0))}</strong></p>'
            f'<p><a href="/admin">Lihat progres pendataan</a> &middot; <a href="/admin/kampanye">Kembali ke '
            f'kampanye</a></p>')


# -- verifiers --------------------------------------------------------------------------------------------
def accounts_table(accounts: list[dict], csrf: str) -> str:
    """The verifier accounts, each with its status and a form to disable or enable it (a reason is required)."""
    if not accounts:
        return "<h2>Akun verifikator</h2><p>Belum ada akun verifikator.</p>"
    rows = []
    for account in accounts:
        name, active = account["username"], account.get("active", True)
        action = (f'<form method="post" action="/admin/verifikator/{escape(name)}/status" class="inline">'
                  f'{hidden_csrf(csrf)}<input type="hidden" name="aktif" value="{"0" if active else "1"}">'
                  f'<label>Alasan <input name="alasan" required maxlength="2000"></label>'
                  f'<button type="submit">{"Nonaktifkan" if active else "Aktifkan"}</button></form>')
        where = e(account.get("instansi_nama") or account.get("instansi_kode"))
        last = when(account["last_login_at"]) if account.get("last_login_at") else "—"
        rows.append(f'<tr><td>{escape(name)}</td><td>{where}</td><td>{"Aktif" if active else "Nonaktif"}</td>'
                    f'<td>{last}</td><td>{action}</td></tr>')
    return '<h2>Akun verifikator</h2>' + scroll_region(
        '<table><thead><tr><th scope="col">Nama pengguna</th><th scope="col">Instansi</th><th scope="col">Status'
        '</th><th scope="col">Terakhir masuk</th><th scope="col">Tindakan</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table>', "Akun verifikator")


def verifier_page(user: dict, csrf: str, instansi: list[str], values: dict | None = None,
                  fields: dict | None = None, accounts: list[dict] | None = None, **notices) -> str:
    values = values or {}
    chosen = values.get("instansi_kode", "")
    options = '<option value="">&mdash; pilih instansi &mdash;</option>' + "".join(
        f'<option value="{escape(k)}"{" selected" if k == chosen else ""}>{escape(k)}</option>' for k in instansi)
    body = (f'<h2>Buat akun verifikator</h2><form method="post" action="/admin/verifikator" class="stack">'
            f'{hidden_csrf(csrf)}'
            f'<label>Nama pengguna <input name="username" required autocomplete="off" '
            f'value="{escape(values.get("username", ""))}"{invalid(fields, "username")}>'
            f'{field_error(fields, "username")}</label>'
            f'<label>Kata sandi <input name="password" type="password" required autocomplete="new-password"'
            f'{invalid(fields, "password")}>{field_error(fields, "password")}</label>'
            f'<label>Instansi <select name="instansi_kode" required{invalid(fields, "instansi_kode")}>{options}'
            f'</select>{field_error(fields, "instansi_kode")}</label>'
            f'{other_errors(fields, ("username", "password", "instansi_kode"))}'
            f'<p class="hint">Nama pengguna 3&ndash;32 karakter (huruf kecil, angka, titik, garis bawah, tanda '
            f'hubung; diawali huruf). Kata sandi minimal 10 karakter dan tidak seluruhnya angka.</p>'
            f'<button type="submit">Buat akun</button></form>')
    return admin_layout("Verifikator", "/admin/verifikator", accounts_table(accounts or [], csrf) + body, user, csrf,
                        **notices)


# -- master roster ----------------------------------------------------------------------------------------
def roster_summary(summary: dict, filename: str = "") -> str:
    """The result of a roster import: counts and the rejected rows (line, column, reason)."""
    rejected = summary.get("rejected") or []
    total_rejected = summary.get("rejected_total", len(rejected))
    rows = "".join(f'<tr><td class="num">{e(r.get("line"))}</td><td>{e(r.get("column"))}</td>'
                   f'<td>{e(r.get("reason"))}</td></tr>' for r in rejected[:ROSTER_SHOWN])
    more = (f'<p class="hint">Ditampilkan {number(min(len(rejected), ROSTER_SHOWN))} baris pertama dari '
            f'{number(total_rejected)} baris yang ditolak.</p>') if total_rejected > ROSTER_SHOWN else ""
    table = (f'<table><thead><tr><th scope="col">Baris</th><th scope="col">Kolom</th>'
             f'<th scope="col">Alasan</th></tr></thead><tbody>{rows}</tbody></table>{more}'
             if rejected else "<p>Tidak ada baris yang ditolak.</p>")
    return (f'<h2>Hasil impor {escape(filename)}</h2><table class="kv summary">'
            f'<tr><th>Dimuat (baru atau berubah)</th><td class="num">{number(summary.get("imported"))}</td></tr>'
            f'<tr><th>Tidak berubah</th><td class="num">{number(summary.get("unchanged"))}</td></tr>'
            f'<tr><th>Ditolak</th><td class="num">{number(total_rejected)}</td></tr></table>'
            f'<h3>Baris yang ditolak</h3>{table}')


def roster_page(user: dict, csrf: str, limit_mib: int, **notices) -> str:
    body = (f'<h2>Unggah data induk (CSV)</h2><p class="hint">Berkas CSV UTF-8 dengan baris judul, dipisah koma, '
            f'paling besar {limit_mib} MiB. Baris yang tidak valid dilaporkan dan dilewati; mengimpor ulang berkas '
            f'yang sama tidak mengubah apa pun. Impor berjalan di latar belakang: halaman berikutnya menampilkan '
            f'kemajuannya.</p>'
            f'<form method="post" action="/admin/data-induk" enctype="multipart/form-data" class="stack">'
            f'{hidden_csrf(csrf)}<label>Berkas CSV <input type="file" name="berkas" accept=".csv,text/csv" '
            f'required></label><button type="submit">Impor</button></form>')
    return admin_layout("Data induk", "/admin/data-induk", body, user, csrf, **notices)
