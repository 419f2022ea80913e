"""Server-rendered audit pages: one PNS's merged event history, and the hash-chain check."""
from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from console.admin_views import admin_layout, number
from console.views import ROLE_LABELS, e, hidden_csrf, scroll_region, when

SERVICE_LABELS = {"identity": "identitas", "forms": "formulir", "verification": "verifikasi",
                  "documents": "dokumen", "notifications": "notifikasi"}
STATUS_LABELS = {"pending_confirmation": "menunggu konfirmasi", "rejected": "ditolak", "draft": "draf",
                 "submitted": "dikirim", "returned": "dikembalikan", "verified": "terverifikasi",
                 "not_reregistered": "tidak mendaftar ulang"}
REASONS = {"missing_event": "peristiwa hilang", "prev_hash_mismatch": "tautan hash sebelumnya tidak cocok",
           "hash_mismatch": "isi peristiwa berubah", "head_mismatch": "kepala aliran tidak cocok",
           "events_removed": "peristiwa dihapus",
           "sequenced_event_missing": "peristiwa bernomor urut dihapus",
           "sequenced_event_changed": "peristiwa bernomor urut berubah",
           "sequence_broken": "nomor urut peristiwa terputus", "sequence_block_altered": "blok nomor urut diubah",
           "events_not_sequenced": "peristiwa tanpa nomor urut"}
SUMMARY_CHARS = 140
HASH_CHARS = 12


def summary(data: Any) -> str:
    """A short, readable digest of an event's data (long values cut)."""
    if not data:
        return "&mdash;"
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            parts.append(f"{key}={text[:40]}{'…' if len(text) > 40 else ''}")
        text = ", ".join(parts)
    else:
        text = json.dumps(data, ensure_ascii=False, default=str)
    return escape(text[:SUMMARY_CHARS] + ("…" if len(text) > SUMMARY_CHARS else ""))


def _actor(actor: Any) -> str:
    if not isinstance(actor, dict):
        return e(actor)
    role = actor.get("role")
    if not actor.get("id") and not role:
        return "&mdash;"
    return f'{e(actor.get("id"))} <span class="hint">({e(ROLE_LABELS.get(role, role))})</span>'


def _event_row(event: dict) -> str:
    service = event.get("service") or ""
    digest = str(event.get("hash") or "")
    return (f'<tr><td>{when(event.get("occurred_at"))}</td>'
            f'<td><strong>{e(SERVICE_LABELS.get(service, service))}</strong><br><span class="stream">'
            f'{e(event.get("stream"))} #{e(event.get("version"))}</span></td><td class="type">{e(event.get("type"))}'
            f'</td><td>{_actor(event.get("actor"))}</td><td class="data">{summary(event.get("data"))}</td>'
            f'<td><code title="{escape(digest)}">{escape(digest[:HASH_CHARS])}</code></td></tr>')


def _search_form(nip: str) -> str:
    return ('<form method="get" action="/admin/audit" class="inline search">'
            f'<label>NIP <input name="nip" value="{escape(nip)}" inputmode="numeric" maxlength="25" required '
            'autocomplete="off"></label><button type="submit">Tampilkan riwayat</button></form>')


def _chain_form(csrf: str) -> str:
    return ('<form method="post" action="/admin/audit/rantai" class="inline">'
            f'{hidden_csrf(csrf)}<button type="submit">Periksa rantai hash</button></form>')


def _actions(csrf: str, nip: str) -> str:
    quoted = quote(nip)
    return ('<h2>Tindakan administrator</h2><div class="admin-actions">'
            f'<form method="post" action="/admin/audit/{quoted}/buka-kembali" class="stack">{hidden_csrf(csrf)}'
            '<p>Buka kembali data yang sudah terverifikasi agar PNS dapat memperbaikinya.</p>'
            '<label>Alasan membuka kembali <textarea name="alasan" rows="2" required maxlength="1000"></textarea>'
            '</label><button type="submit">Buka kembali</button></form>'
            f'<form method="post" action="/admin/audit/{quoted}/pulihkan" class="stack">{hidden_csrf(csrf)}'
            '<p>Pulihkan PNS yang ditandai <em>tidak mendaftar ulang</em>.</p>'
            '<label>Alasan pemulihan <textarea name="alasan" rows="2" required maxlength="1000"></textarea>'
            '</label><button type="submit">Pulihkan</button></form></div>')


def audit_page(user: dict, csrf: str, nip: str = "", events: list[dict] | None = None,
               status: str | None = None, **notices) -> str:
    body = f'<div class="toolbar">{_search_form(nip)}{_chain_form(csrf)}</div>'
    if events is not None:
        state = (f'<p>Status saat ini: <strong>{e(STATUS_LABELS.get(status, status))}</strong></p>'
                 if status else "")
        rows = "".join(_event_row(event) for event in events)
        table = scroll_region(
            '<table class="audit"><colgroup><col class="c-time"><col class="c-stream">'
            '<col class="c-type"><col class="c-actor"><col><col class="c-hash"></colgroup><thead><tr>'
            '<th scope="col">Waktu (WIB)</th><th scope="col">Layanan, aliran</th>'
            '<th scope="col">Jenis peristiwa</th><th scope="col">Pelaku</th>'
            '<th scope="col">Ringkasan data</th><th scope="col">Hash</th></tr>'
            f'</thead><tbody>{rows}</tbody></table>', f"Riwayat peristiwa NIP {nip}") if events \
            else "<p>Tidak ada peristiwa tercatat untuk NIP ini.</p>"
        body += (f'<h2>Riwayat peristiwa NIP {escape(nip)}</h2>{state}'
                 f'<p class="hint">{number(len(events))} peristiwa dari semua layanan, urut waktu.</p>'
                 f'{table}{_actions(csrf, nip)}')
    return admin_layout(f"Audit NIP {nip}" if nip and events is not None else "Audit", "/admin/audit", body,
                        user, csrf, **notices)


def chain_page(user: dict, csrf: str, report: dict) -> str:
    """The hash-chain check's result under the audit toolbar."""
    body = f'<div class="toolbar">{_search_form("")}{_chain_form(csrf)}</div>{chain_report(report)}'
    return admin_layout("Pemeriksaan rantai hash", "/admin/audit", body, user, csrf)


def chain_report(report: dict) -> str:
    """The verdict, the totals and each service's figures of a chain check (the audit job's result)."""
    broken = report.get("broken") or []
    if broken:
        rows = "".join(f'<tr class="broken"><td>{e(SERVICE_LABELS.get(b.get("service"), b.get("service")))}</td>'
                       f'<td>{e(b.get("stream") or "urutan peristiwa")}</td>'
                       f'<td class="num">{e(b.get("version") or b.get("seq"))}</td>'
                       f'<td>{e(REASONS.get(b.get("reason"), b.get("reason")))}</td></tr>' for b in broken)
        verdict = (f'<p class="error" role="alert">Ditemukan {number(len(broken))} kerusakan rantai hash: data '
                   f'yang tersimpan telah diubah atau dihapus.</p>' + scroll_region(
                       '<table class="broken"><thead><tr><th scope="col">Layanan</th><th scope="col">Aliran</th>'
                       '<th scope="col">Versi</th><th scope="col">Masalah</th></tr></thead>'
                       f'<tbody>{rows}</tbody></table>', "Kerusakan rantai hash"))
    else:
        verdict = '<p class="flash" role="status">Semua rantai hash utuh: tidak ada data yang diubah atau dihapus.</p>'
    services = "".join(f'<tr><th scope="row">{e(SERVICE_LABELS.get(s, s))}</th>'
                       f'<td class="num">{number(r.get("streams_checked"))}</td>'
                       f'<td class="num">{number(r.get("events_checked"))}</td>'
                       f'<td class="num">{number(_broken_count(r.get("broken")))}</td></tr>'
                       for s, r in (report.get("services") or {}).items())
    return (f'{verdict}<table class="kv summary"><tr><th>Aliran diperiksa</th><td class="num">'
            f'{number(report.get("streams_checked"))}</td></tr><tr><th>Peristiwa diperiksa</th><td class="num">'
            f'{number(report.get("events_checked"))}</td></tr></table>'
            + scroll_region('<table><thead><tr><th scope="col">Layanan</th><th scope="col">Aliran</th>'
                            '<th scope="col">Peristiwa</th><th scope="col">Rusak</th></tr></thead>'
                            f'<tbody>{services}</tbody></table>', "Pemeriksaan per layanan"))


def _broken_count(broken: Any) -> int:
    """A service's broken items, listed (a direct check) or counted (the audit job's result)."""
    return broken if isinstance(broken, int) else len(broken or [])
