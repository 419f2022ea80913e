"""Administrator pages of the console: progress, campaign, verifier accounts, master roster, audit.

Mixed into `console.app.Console`; every action goes through the owning service's RPC (which checks the
admin role again and audits it). Only sessions with role `admin` reach these handlers (see `guard`).
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from console import admin_views, audit_views, job_views, session
from console.views import WIB
from pupns import audit, csvexport
from pupns.errors import AppError
from pupns.nip import normalize_nip
from pupns.roster_upload import follow_job, start_job, upload_roster

MAX_ROSTER_BYTES = 50 * 1024 * 1024
MAX_FORM_BYTES = 1024 * 1024
CHAIN_WAIT_SECONDS = 3.0  # a small log's chain check ends within this: shown at once, else the job's page
NIP_PATTERN = re.compile(r"\d{18}")
RULES = [
    Rule("/admin", endpoint="admin_progress"),
    Rule("/admin/progres.csv", endpoint="admin_progress_csv"),
    Rule("/admin/kampanye", endpoint="admin_campaign", methods=["GET", "POST"]),
    Rule("/admin/kampanye/tutup", endpoint="admin_close", methods=["GET", "POST"]),
    Rule("/admin/verifikator", endpoint="admin_verifiers", methods=["GET", "POST"]),
    Rule("/admin/verifikator/<username>/status", endpoint="admin_verifier_status", methods=["POST"]),
    Rule("/admin/data-induk", endpoint="admin_roster", methods=["GET", "POST"]),
    Rule("/admin/pekerjaan/<job_id>", endpoint="admin_job"),
    Rule("/admin/audit", endpoint="admin_audit"),
    Rule("/admin/audit/rantai", endpoint="admin_chain", methods=["POST"]),
    Rule("/admin/audit/<nip>/buka-kembali", endpoint="admin_reopen", methods=["POST"]),
    Rule("/admin/audit/<nip>/pulihkan", endpoint="admin_reinstate", methods=["POST"]),
]
FLASH = {
    "jadwal_disimpan": "Jadwal kampanye telah disimpan.",
    "verifikator_dibuat": "Akun verifikator {username} untuk instansi {instansi} telah dibuat.",
    "verifikator_nonaktif": "Akun {username} telah dinonaktifkan; sesi dan tokennya berhenti dalam beberapa detik.",
    "verifikator_aktif": "Akun {username} telah diaktifkan kembali.",
    "dibuka_kembali": "Data NIP {nip} telah dibuka kembali; PNS dapat memperbaiki dan mengirim ulang.",
    "dipulihkan": "Sanksi NIP {nip} telah dicabut (dipulihkan).",
}


def guard(endpoint: str, user: dict, request: Request) -> None:
    """Only administrators reach admin pages; bodies are limited before the CSRF check parses them."""
    request.max_content_length = MAX_ROSTER_BYTES + 64 * 1024 if endpoint == "admin_roster" else MAX_FORM_BYTES
    if endpoint.startswith("admin_") and user.get("role") != "admin":
        raise AppError("forbidden", "Halaman ini hanya untuk administrator.")


def wib_iso(value: str) -> str:
    """A datetime-local value read as WIB, as ISO 8601 with +07:00 (ValueError when it is not a time)."""
    value = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
        raise ValueError(value)
    return datetime.fromisoformat(value).replace(tzinfo=WIB).isoformat()


def fields_of(exc: AppError) -> dict:
    """A service's 422 field reasons, or the message under the form when it names no field."""
    return dict(exc.fields) if exc.fields else {"_schema": [exc.message]}


class AdminRoutes:
    """Handlers of the admin pages (mixin: needs `self.backend`)."""

    backend: Any

    def _admin_notices(self, request: Request) -> dict:
        text = FLASH.get(request.args.get("pesan", ""))
        values = defaultdict(str, {k: v for k, v in request.args.items() if k != "pesan"})
        return {"flash": text.format_map(values) if text else None}

    def _html(self, page: str, status: int = 200) -> Response:
        return Response(page, status=status, mimetype="text/html")

    # -- progress and campaign ---------------------------------------------------------------------
    def admin_progress(self, request: Request, user: dict, csrf: str) -> Response:
        progress = self.backend.call("identity", "progress", session.actor_of(user))
        campaign = self.backend.call("identity", "get_campaign")
        return self._html(admin_views.dashboard_page(user, csrf, progress, campaign, **self._admin_notices(request)))

    def admin_progress_csv(self, request: Request, user: dict, csrf: str) -> Response:
        progress = self.backend.call("identity", "progress", session.actor_of(user))
        return Response(csvexport.progress_csv(progress), headers=csvexport.headers("progres-pupns"))

    def admin_campaign(self, request: Request, user: dict, csrf: str) -> Response:
        campaign = self.backend.call("identity", "get_campaign")
        if request.method == "GET":
            return self._html(admin_views.campaign_page(user, csrf, campaign, **self._admin_notices(request)))
        values = {key: request.form.get(key, "") for key in ("opens_at", "closes_at")}
        try:
            payload, problems = {}, {}
            for key, value in values.items():
                try:
                    payload[key] = wib_iso(value)
                except ValueError:
                    problems[key] = ["isi tanggal dan jam (WIB)"]
            if problems:
                raise AppError("validation_error", "Periksa kembali isian jadwal.", problems)
            self.backend.call("identity", "set_campaign", payload, session.actor_of(user))
        except AppError as exc:
            page = admin_views.campaign_page(user, csrf, campaign, values, fields_of(exc), error=exc.message)
            return self._html(page, exc.status)
        return redirect("/admin/kampanye?pesan=jadwal_disimpan", 303)

    def admin_close(self, request: Request, user: dict, csrf: str) -> Response:
        campaign = self.backend.call("identity", "get_campaign")
        if request.method == "GET":
            totals = self.backend.call("identity", "progress", session.actor_of(user)).get("totals") or {}
            return self._html(admin_views.close_confirm_page(user, csrf, campaign, totals))
        try:
            job = start_job(lambda key: self.backend.call("identity", "close_campaign", session.actor_of(user),
                                                          idempotency_key=key), None)
        except AppError as exc:
            message = ("Kampanye belum pernah dijadwalkan, jadi tidak dapat ditutup."
                       if exc.code == "invalid_state" else exc.message)
            return self._html(admin_views.campaign_page(user, csrf, campaign, error=message), exc.status)
        return redirect(f"/admin/pekerjaan/{job['id']}", 303)

    def admin_job(self, request: Request, user: dict, csrf: str, job_id: str) -> Response:
        """A job's progress bar (refreshing while it runs), then its result."""
        job = self.backend.call("identity", "get_job", job_id, session.actor_of(user))
        return self._html(job_views.job_page(user, csrf, job, request.args.get("berkas", "")))

    # -- verifier accounts -------------------------------------------------------------------------
    def admin_verifiers(self, request: Request, user: dict, csrf: str) -> Response:
        progress = self.backend.call("identity", "progress", session.actor_of(user))
        instansi = [str(r["instansi_kode"]) for r in progress.get("by_instansi") or []
                    if r.get("instansi_kode") not in (None, "unknown") and r.get("roster")]
        accounts = self.backend.call("identity", "list_staff", session.actor_of(user))["items"]
        if request.method == "GET":
            return self._html(admin_views.verifier_page(user, csrf, instansi, accounts=accounts,
                                                        **self._admin_notices(request)))
        values = {key: request.form.get(key, "").strip() for key in ("username", "instansi_kode")}
        payload = {**values, "password": request.form.get("password", "")}
        try:
            if values["instansi_kode"] not in instansi:
                raise AppError("validation_error", "Periksa kembali isian akun.",
                               {"instansi_kode": ["pilih instansi dari daftar"]})
            created = self.backend.call("identity", "create_verifier", payload, session.actor_of(user))
        except AppError as exc:
            page = admin_views.verifier_page(user, csrf, instansi, values, fields_of(exc), accounts=accounts,
                                             error=exc.message)
            return self._html(page, exc.status)
        query = urlencode({"pesan": "verifikator_dibuat", "username": created.get("username", values["username"]),
                           "instansi": created.get("instansi_kode", values["instansi_kode"])})
        return redirect(f"/admin/verifikator?{query}", 303)

    def admin_verifier_status(self, request: Request, user: dict, csrf: str, username: str) -> Response:
        """Disable or enable a staff account, with a reason (audited by identity)."""
        active = request.form.get("aktif") == "1"
        self.backend.call("identity", "set_staff_active", username, active, request.form.get("alasan", ""),
                          session.actor_of(user))
        query = urlencode({"pesan": "verifikator_aktif" if active else "verifikator_nonaktif", "username": username})
        return redirect(f"/admin/verifikator?{query}", 303)

    # -- master roster -----------------------------------------------------------------------------
    def admin_roster(self, request: Request, user: dict, csrf: str) -> Response:
        limit_mib = MAX_ROSTER_BYTES // (1024 * 1024)
        if request.method == "GET":
            return self._html(admin_views.roster_page(user, csrf, limit_mib))
        upload = request.files.get("berkas")
        filename = (upload.filename or "") if upload else ""
        try:
            if upload is None or not filename:
                raise AppError("validation_error", "Pilih berkas CSV data induk terlebih dahulu.")
            content = upload.stream.read(MAX_ROSTER_BYTES + 1)
            if len(content) > MAX_ROSTER_BYTES:
                raise AppError("too_large", f"Berkas melebihi batas {limit_mib} MiB.")
            if not content.strip():
                raise AppError("validation_error", "Berkas kosong.")
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise AppError("unsupported_type", "Berkas harus berupa teks CSV dengan pengodean UTF-8.") from None
            if "\x00" in text:
                raise AppError("unsupported_type", "Berkas bukan teks CSV.")
            actor = session.actor_of(user)
            job = upload_roster(text, lambda method, *args, **kwargs: self.backend.call(
                "identity", method, *args, actor, **kwargs))
        except AppError as exc:
            return self._html(admin_views.roster_page(user, csrf, limit_mib, error=exc.message), exc.status)
        return redirect(f"/admin/pekerjaan/{job['id']}?{urlencode({'berkas': filename})}", 303)

    # -- audit -------------------------------------------------------------------------------------
    def _history(self, nip: str) -> tuple[list[dict], str | None]:
        """Every service's events about one NIP merged in time order (as the edge's audit endpoint)."""
        events = audit.history(self.backend, nip)
        try:
            status = self.backend.call("identity", "get_me", nip).get("status")
        except AppError:
            status = None  # on the roster only, or unknown: the history says what there is
        return events, status

    def admin_audit(self, request: Request, user: dict, csrf: str, error: str | None = None,
                    status: int = 200, nip: str | None = None) -> Response:
        nip = normalize_nip(nip if nip is not None else request.args.get("nip", "")).strip()
        if not nip:
            return self._html(audit_views.audit_page(user, csrf, error=error), status)
        if not NIP_PATTERN.fullmatch(nip):
            return self._html(audit_views.audit_page(user, csrf, nip, error="NIP harus terdiri dari 18 angka."),
                              422)
        events, state = self._history(nip)
        notices = {"error": error} if error else self._admin_notices(request)
        return self._html(audit_views.audit_page(user, csrf, nip, events, state, **notices), status)

    def _record_action(self, request: Request, user: dict, csrf: str, nip: str, service: str, method: str,
                       done: str) -> Response:
        reason = request.form.get("alasan", "").strip()
        try:
            if not reason:
                raise AppError("validation_error", "Alasan wajib diisi.", {"reason": ["wajib diisi"]})
            self.backend.call(service, method, nip, reason, session.actor_of(user))
        except AppError as exc:
            return self.admin_audit(request, user, csrf, exc.message, exc.status, nip=nip)
        return redirect(f"/admin/audit?{urlencode({'nip': nip, 'pesan': done})}", 303)

    def admin_reopen(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        return self._record_action(request, user, csrf, nip, "forms", "reopen_record", "dibuka_kembali")

    def admin_reinstate(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        return self._record_action(request, user, csrf, nip, "identity", "reinstate", "dipulihkan")

    def admin_chain(self, request: Request, user: dict, csrf: str) -> Response:
        """Start the chain-check job; its result at once when it ends within CHAIN_WAIT_SECONDS, else its page."""
        actor = session.actor_of(user)
        job = start_job(lambda key: self.backend.call("identity", "start_audit_verify", actor,
                                                      idempotency_key=key), None)
        try:
            job = follow_job(lambda job_id: self.backend.call("identity", "get_job", job_id, actor), job["id"],
                             interval=0.25, timeout=CHAIN_WAIT_SECONDS)
        except TimeoutError:
            return redirect(f"/admin/pekerjaan/{job['id']}", 303)
        if job["status"] != "done":
            return redirect(f"/admin/pekerjaan/{job['id']}", 303)  # the job page shows why it failed
        return self._html(audit_views.chain_page(user, csrf, job["result"]))
