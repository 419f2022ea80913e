"""Handlers of the public and PNS routes: parse, call the back end, dump."""
from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request, Response

from edge.http import bodies, schemas
from edge.http.responses import binary_response, json_response
from edge.http.routing import Ctx
from pupns import devices
from pupns.auth import verify_receipt
from pupns.errors import AppError, validation_error
from pupns.eventstore import utcnow_iso


def _json(ctx: Ctx, schema: type, allow_form: bool = False) -> dict[str, Any]:
    data = bodies.json_body(ctx.request, ctx.settings.max_json_bytes, allow_form=allow_form)
    return schemas.load(schema(), data)


def register(ctx: Ctx) -> tuple[int, Any]:
    """POST /api/v1/registrations."""
    payload = _json(ctx, schemas.RegistrationSchema)
    try:
        result = dict(ctx.backend.call("identity", "register", payload, idempotency_key=ctx.idempotency_key))
    except AppError as exc:
        if exc.code in ("nip_not_in_roster", "nik_mismatch") and ctx.limiter is not None:
            ctx.limiter.registration_failed(client_address(ctx.request, ctx.settings.proxy_hops))
        raise
    receipt_path = result.pop("receipt_path", None)
    if receipt_path:
        result["receipt_url"] = ctx.request.host_url.rstrip("/") + receipt_path
    return 201, result


def client_address(request: Request, proxy_hops: int) -> str:
    """The client's address: the peer's, or the one `proxy_hops` trusted proxies appended to X-Forwarded-For."""
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if proxy_hops and len(forwarded) >= proxy_hops:
        return forwarded[-proxy_hops]
    return request.remote_addr or "unknown"


def receipt(ctx: Ctx) -> Response:
    """GET /api/v1/receipts/<registration_number>.pdf?sig=…: the signature is the only credential."""
    number = ctx.params["registration_number"]
    if not verify_receipt(number, ctx.request.args.get("sig", "")):
        raise AppError("not_found")
    registration = ctx.backend.call("identity", "get_registration", number)
    pdf = ctx.backend.call("documents", "get_receipt", registration)
    return binary_response(base64.b64decode(pdf["content_b64"]), "application/pdf", f"{number}.pdf")


def issue_token(ctx: Ctx) -> Response:
    """POST /api/v1/auth/token (JSON or form-encoded); a success sets the device cookie (pupns.devices)."""
    data = _json(ctx, schemas.TokenRequestSchema, allow_form=True)
    device = devices.device_for(ctx.request.cookies.get(devices.COOKIE), data["username"])
    if ctx.limiter is not None:
        ctx.limiter.check_login(data["username"], device)  # before any password hash is computed
    result = ctx.backend.call("identity", "issue_token", data["username"], data["password"], device=device)
    return json_response(result, 200, {"Set-Cookie": devices.cookie_header(data["username"], device, "/api/v1/auth")})


def me(ctx: Ctx) -> Any:
    """GET /api/v1/me: identity's account and timeline, with each e-mail sent or still being retried."""
    nip = ctx.actor["id"]
    account = ctx.backend.call("identity", "get_me", nip)
    try:
        emails = ctx.backend.call("notifications", "emails_of", nip, ctx.actor) or []
    except AppError as exc:
        if exc.code != "unavailable":
            raise
        emails = []  # the e-mail service is down or busy: the account and its history still show
    timeline = [*account.get("timeline", []), *map(email_entry, emails)]
    return {**account, "timeline": sorted(timeline, key=lambda entry: entry.get("at") or "")}


def export_me(ctx: Ctx) -> Response:
    """GET /api/v1/me/export: everything the platform holds about the caller (the right of access, SPEC §4/§7),
    as a JSON file to keep: roster row, account, form, documents' metadata, timeline and e-mails."""
    nip = ctx.actor["id"]
    held = ctx.backend.call("identity", "export_of", nip)
    export = {
        "nip": nip, "exported_at": utcnow_iso(),
        "roster": held.get("roster"), "account": held.get("account"), "timeline": held.get("timeline", []),
        "form": ctx.backend.call("forms", "get_form", nip),
        "documents": ctx.backend.call("documents", "list_documents", nip),
        "emails": ctx.backend.call("notifications", "emails_of", nip, ctx.actor) or [],
    }
    return json_response(export, 200, {"Content-Disposition": f'attachment; filename="data-pupns-{nip}.json"',
                                       "Cache-Control": "no-store"})


EMAIL_STATES = {"sent": "email_sent", "pending": "email_retrying", "waiting_contact": "email_waiting",
                "given_up": "email_given_up"}


def email_entry(email: dict) -> dict:
    """One e-mail as a timeline item: sent (when), or still being retried / waiting for an address (since when)."""
    sent = email.get("status") == "sent"
    note = email.get("subject") or ""
    if email.get("status") == "given_up":
        note += " (tidak dikirim: alamat tujuan sudah dihapus)"
    elif not sent and email.get("attempts"):
        note += f" (percobaan ke-{email['attempts']} gagal; dicoba ulang otomatis)"
    return {"at": email.get("sent_at") if sent else email.get("queued_at"),
            "type": EMAIL_STATES.get(email.get("status"), "email_retrying"), "by_role": "system", "note": note}


def get_form(ctx: Ctx) -> Response:
    """GET /api/v1/me/form, with the version as ETag."""
    form = ctx.backend.call("forms", "get_form", ctx.actor["id"])
    return json_response(form, 200, {"ETag": f'"{form.get("version")}"'})


def _if_match_version(ctx: Ctx) -> int:
    raw = ctx.request.headers.get("If-Match")
    if raw is None:
        raise AppError("precondition_required")
    value = raw.strip().removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise validation_error({"If-Match": ["Harus berupa nomor versi formulir."]}) from None


def foreign_documents(ctx: Ctx, key: str, value: object) -> dict[str, list[str]]:
    """Errors for every `document_id` in a section that is not one of the caller's own uploads (issue 11: a form
    must not point at another PNS's document). Checked here because it joins two services' data at the moment of
    the save; forms and documents each check only their own rules."""
    cited = [(i, item["document_id"]) for i, item in enumerate(value if isinstance(value, list) else [])
             if isinstance(item, dict) and isinstance(item.get("document_id"), str) and item["document_id"]]
    if not cited:
        return {}
    own = {doc.get("document_id") for doc in ctx.backend.call("documents", "list_documents", ctx.actor["id"])}
    return {f"{key}.{i}.document_id": ["Dokumen tidak ditemukan di antara unggahan Anda."]
            for i, document_id in cited if document_id not in own}


def save_section(ctx: Ctx) -> Response:
    """PUT /api/v1/me/form/sections/<key>: the body is the section's value itself."""
    expected = _if_match_version(ctx)
    value = bodies.json_body(ctx.request, ctx.settings.max_json_bytes)
    if not isinstance(value, dict | list):
        raise validation_error({"_schema": ["Isi bagian harus berupa objek atau daftar."]})
    foreign = foreign_documents(ctx, ctx.params["key"], value)
    if foreign:
        raise validation_error(foreign)
    result = ctx.backend.call("forms", "save_section", ctx.actor["id"], ctx.params["key"], value, expected,
                              idempotency_key=ctx.idempotency_key)
    return json_response(result, 200, {"ETag": f'"{result.get("version")}"'})


def submit_form(ctx: Ctx) -> Any:
    """POST /api/v1/me/form/submit."""
    bodies.optional_json_body(ctx.request, ctx.settings.max_json_bytes)
    return ctx.backend.call("forms", "submit_form", ctx.actor["id"], idempotency_key=ctx.idempotency_key)


def upload_document(ctx: Ctx) -> tuple[int, Any]:
    """POST /api/v1/me/documents (multipart: file, kind); per-kind size limits."""
    settings = ctx.settings
    form, upload = bodies.multipart_upload(ctx.request, settings.max_upload_bytes() + 64 * 1024)
    data = schemas.load(schemas.UploadFormSchema(), {**form, **({"file": upload} if upload else {})})
    limit = settings.max_jpeg_bytes if data["kind"] == "foto" else settings.max_pdf_bytes
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise AppError("too_large", f"Ukuran berkas melebihi batas {limit // 1024} KiB.")
    actor = ctx.actor
    result = ctx.backend.call("documents", "upload_document", actor["id"], actor.get("instansi_kode"),
                              data["kind"], upload.filename or "", base64.b64encode(content).decode(), actor)
    return 201, result


def get_document(ctx: Ctx) -> Response:
    """GET /api/v1/me/documents/<id>: the file itself (documents decides who may read it)."""
    doc = ctx.backend.call("documents", "get_document", ctx.params["id"], ctx.actor)
    content = base64.b64decode(doc["content_b64"])
    return binary_response(content, doc.get("content_type", "application/octet-stream"), doc.get("filename"))


def statement_pdf(ctx: Ctx) -> Response:
    """GET /api/v1/me/statement.pdf: the latest Surat Pernyataan, stamped once e-Meterai answered.

    `X-Stamp-State` says requested, retrying or stamped, so a client can tell without parsing the PDF.
    """
    statement = ctx.backend.call("documents", "get_statement", ctx.actor["id"], ctx.actor)
    response = binary_response(base64.b64decode(statement["content_b64"]), "application/pdf",
                               statement.get("filename") or "surat-pernyataan.pdf")
    response.headers["X-Stamp-State"] = statement.get("state") or "requested"
    return response


def profile_pdf(ctx: Ctx) -> Response:
    """GET /api/v1/me/profile.pdf (after submit; 409 `not_submitted` before)."""
    data = ctx.backend.call("forms", "get_profile_data", ctx.actor["id"])
    pdf = ctx.backend.call("documents", "render_profile", data)
    return binary_response(base64.b64decode(pdf["content_b64"]), "application/pdf", "profil-pns.pdf")
