"""Handlers of the verifier and administrator routes."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from edge.http import bodies, jobs, schemas
from edge.http.routing import Ctx
from pupns import audit, csvexport
from pupns.errors import AppError
from pupns.roster_upload import start_job, upload_roster


def _json(ctx: Ctx, schema: type) -> dict[str, Any]:
    return schemas.load(schema(), bodies.json_body(ctx.request, ctx.settings.max_json_bytes))


def _listing(ctx: Ctx, method: str, default_status: str) -> Any:
    args = ctx.request.args
    return ctx.backend.call("verification", method, ctx.actor, status=args.get("status", default_status),
                            cursor=args.get("cursor") or None)


def change_password(ctx: Ctx) -> Any:
    """POST /api/v1/auth/password {current_password, new_password}: a verifier or administrator changes their own
    password; their tokens issued before it stop working, the answer carries a fresh one."""
    data = _json(ctx, schemas.PasswordChangeSchema)
    return ctx.backend.call("identity", "change_password", data["current_password"], data["new_password"],
                            ctx.actor)


def list_registrations(ctx: Ctx) -> Any:
    """GET /api/v1/verifier/registrations?status=&cursor=."""
    return _listing(ctx, "list_registrations", "pending")


def _on_nip(ctx: Ctx, method: str, *args: Any, **kwargs: Any) -> Any:
    """One verification call about `<nip>`, scoped like SPEC §4 without telling which NIPs exist elsewhere.

    verification knows a NIP's instansi only once it is registered, and refuses every other NIP alike (403). Of
    those, a NIP on the verifier's own roster is 404 (no such record); the roster is asked for every refusal, so
    a NIP of another instansi and a NIP never issued cost the same calls and answer the same 403."""
    try:
        return ctx.backend.call("verification", method, ctx.params["nip"], *args, ctx.actor, **kwargs)
    except AppError as refused:
        if refused.code != "forbidden" or ctx.actor.get("role") != "verifier":
            raise
        if ctx.backend.call("identity", "in_own_instansi", ctx.params["nip"], ctx.actor).get("own"):
            raise AppError("not_found") from None
        raise


def confirm_registration(ctx: Ctx) -> Any:
    """POST /api/v1/verifier/registrations/<nip>/confirm."""
    bodies.optional_json_body(ctx.request, ctx.settings.max_json_bytes)
    return _on_nip(ctx, "confirm_registration", idempotency_key=ctx.idempotency_key)


def reject_registration(ctx: Ctx) -> Any:
    """POST /api/v1/verifier/registrations/<nip>/reject {reason}."""
    data = _json(ctx, schemas.ReasonSchema)
    return _on_nip(ctx, "reject_registration", data["reason"], idempotency_key=ctx.idempotency_key)


def list_submissions(ctx: Ctx) -> Any:
    """GET /api/v1/verifier/submissions?status=&cursor=."""
    return _listing(ctx, "list_submissions", "submitted")


def submissions_csv(ctx: Ctx) -> Response:
    """GET /api/v1/verifier/submissions.csv: every submission of the verifier's instansi, any status."""
    content = csvexport.submissions_csv(
        lambda cursor: ctx.backend.call("verification", "export_submissions", ctx.actor, cursor=cursor))
    return _csv(content, "pengajuan-" + (ctx.actor.get("instansi_kode") or "semua"))


def _csv(content: bytes, stem: str) -> Response:
    return Response(content, status=200, headers=csvexport.headers(stem))


def get_submission(ctx: Ctx) -> Any:
    """GET /api/v1/verifier/submissions/<nip>."""
    return _on_nip(ctx, "get_submission")


def approve_submission(ctx: Ctx) -> Any:
    """POST /api/v1/verifier/submissions/<nip>/approve."""
    bodies.optional_json_body(ctx.request, ctx.settings.max_json_bytes)
    return _on_nip(ctx, "approve_submission", idempotency_key=ctx.idempotency_key)


def return_submission(ctx: Ctx) -> Any:
    """POST /api/v1/verifier/submissions/<nip>/return {notes}."""
    data = _json(ctx, schemas.ReturnNotesSchema)
    return _on_nip(ctx, "return_submission", data["notes"], idempotency_key=ctx.idempotency_key)


def import_roster(ctx: Ctx) -> Any:
    """POST /api/v1/admin/roster (text/csv, up to 50 MiB): 202, the import job."""
    csv_text = bodies.csv_body(ctx.request, ctx.settings.max_csv_bytes)
    # Staged in chunks (each RPC well inside its deadline), stored once by identity, imported by a job.
    job = upload_roster(csv_text, lambda method, *args, **kwargs: ctx.backend.call(
        "identity", method, *args, ctx.actor, **kwargs), ctx.idempotency_key)
    return jobs.accepted(job)


def create_verifier(ctx: Ctx) -> tuple[int, Any]:
    """POST /api/v1/admin/verifiers."""
    data = _json(ctx, schemas.VerifierCreateSchema)
    return 201, ctx.backend.call("identity", "create_verifier", data, ctx.actor)


def list_verifiers(ctx: Ctx) -> Any:
    """GET /api/v1/admin/verifiers?instansi_kode=&cursor=."""
    args = ctx.request.args
    return ctx.backend.call("identity", "list_staff", ctx.actor, instansi_kode=args.get("instansi_kode") or None,
                            cursor=args.get("cursor") or None)


def disable_verifier(ctx: Ctx) -> Any:
    """POST /api/v1/admin/verifiers/<username>/disable {reason}."""
    return _set_active(ctx, False)


def enable_verifier(ctx: Ctx) -> Any:
    """POST /api/v1/admin/verifiers/<username>/enable {reason}."""
    return _set_active(ctx, True)


def _set_active(ctx: Ctx, active: bool) -> Any:
    data = _json(ctx, schemas.ReasonSchema)
    return ctx.backend.call("identity", "set_staff_active", ctx.params["username"], active, data["reason"],
                            ctx.actor)


def get_campaign(ctx: Ctx) -> Any:
    """GET /api/v1/admin/campaign."""
    return ctx.backend.call("identity", "get_campaign")


def set_campaign(ctx: Ctx) -> Any:
    """PUT /api/v1/admin/campaign {opens_at, closes_at} (ISO 8601 with offset)."""
    return ctx.backend.call("identity", "set_campaign", _json(ctx, schemas.CampaignSchema), ctx.actor)


def close_campaign(ctx: Ctx) -> Any:
    """POST /api/v1/admin/campaign/close: the window closes now; 202, the job marking not_reregistered."""
    bodies.optional_json_body(ctx.request, ctx.settings.max_json_bytes)
    return jobs.accepted(start_job(lambda key: ctx.backend.call("identity", "close_campaign", ctx.actor,
                                                                idempotency_key=key), ctx.idempotency_key))


def reopen_record(ctx: Ctx) -> Any:
    """POST /api/v1/admin/records/<nip>/reopen {reason}."""
    data = _json(ctx, schemas.ReasonSchema)
    return ctx.backend.call("forms", "reopen_record", ctx.params["nip"], data["reason"], ctx.actor)


def reinstate_record(ctx: Ctx) -> Any:
    """POST /api/v1/admin/records/<nip>/reinstate {reason}: lift a not_reregistered sanction."""
    data = _json(ctx, schemas.ReasonSchema)
    return ctx.backend.call("identity", "reinstate", ctx.params["nip"], data["reason"], ctx.actor)


def erase_record(ctx: Ctx) -> Any:
    """POST /api/v1/admin/records/<nip>/erase {reason}: destroy the PNS's data key (SPEC §7); audited."""
    data = _json(ctx, schemas.ReasonSchema)
    return ctx.backend.call("identity", "erase_record", ctx.params["nip"], data["reason"], ctx.actor)


def progress(ctx: Ctx) -> Any:
    """GET /api/v1/admin/progress."""
    return ctx.backend.call("identity", "progress", ctx.actor)


def progress_csv(ctx: Ctx) -> Response:
    """GET /api/v1/admin/progress.csv: one row per instansi, the columns of `by_instansi`."""
    return _csv(csvexport.progress_csv(ctx.backend.call("identity", "progress", ctx.actor)), "progres-pupns")


def audit_record(ctx: Ctx) -> Any:
    """GET /api/v1/admin/audit/<nip>: every service's events about one NIP, merged in order."""
    keys = ("stream", "version", "type", "occurred_at", "actor", "data", "hash")
    return {"events": [{k: event.get(k) for k in keys} for event in audit.history(ctx.backend, ctx.params["nip"])]}


def audit_verify(ctx: Ctx) -> Any:
    """GET /api/v1/admin/audit/verify: every service's hash chains, checked by a job (202, or 200 with the result
    when it ends within the route's wait or `Prefer: wait=N`).

    A GET that starts work is unusual, but the spec fixes the method, and the check outlasts a request's deadline on
    a large log (SPEC §4: such work is a job). It changes nothing but the job's own record, which the check leaves
    out of its counts; an Idempotency-Key returns the same job."""
    return jobs.accepted(start_job(lambda key: ctx.backend.call("identity", "start_audit_verify", ctx.actor,
                                                                idempotency_key=key), ctx.idempotency_key))
