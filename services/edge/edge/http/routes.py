"""The route table: every row of SPEC §4 mapped to its handler, roles, body and documented answers."""
from __future__ import annotations

from edge.http import handlers_pns as pns
from edge.http import handlers_staff as staff
from edge.http import jobs
from edge.http import schemas as s
from edge.http.routing import ADMIN, PNS, VERIFIER, Route

V1 = "/api/v1"
AUTH = ("unauthorized", "forbidden")
BODY = ("bad_request", "too_large", "unsupported_type", "validation_error")
# The chain check is a job; a small log's ends within this and answers 200 (the spec's answer) even on a busy
# machine; a large log's answers 202 after it (the synchronous check used to answer 503 past ~50,000 events a
# service, at the 5 s RPC deadline). The wait holds a thread outside admission control, for administrators only.
AUDIT_WAIT_SECONDS = 10.0


def api_routes() -> list[Route]:
    """Every API row; `queued` marks what admission control may turn away under a surge."""
    return [
        Route("POST", f"{V1}/registrations", pns.register, queued=True, body="json", schema=s.RegistrationSchema,
              response=s.RegistrationCreatedSchema, status=201, headers=("Idempotency-Key",),
              errors=(*BODY, "nip_not_in_roster", "nik_mismatch", "already_registered", "campaign_closed",
                      "idempotency_conflict", "queue", "rate_limited", "too_many_attempts")),
        Route("GET", f"{V1}/receipts/<registration_number>.pdf", pns.receipt, queued=True, query=("sig",),
              produces="application/pdf", errors=("not_found", "queue")),
        Route("POST", f"{V1}/auth/token", pns.issue_token, queued=True, body="json|form",
              schema=s.TokenRequestSchema, response=s.TokenSchema,
              errors=(*BODY, "invalid_credentials", "registration_pending", "too_many_attempts", "rate_limited",
                      "queue")),
        Route("POST", f"{V1}/auth/password", staff.change_password, roles=VERIFIER, body="json",
              schema=s.PasswordChangeSchema, response=s.PasswordChangedSchema,
              errors=(*AUTH, *BODY, "invalid_credentials", "too_many_attempts")),
        Route("GET", f"{V1}/me", pns.me, roles=PNS, errors=AUTH),
        Route("GET", f"{V1}/me/export", pns.export_me, roles=PNS, errors=AUTH),
        Route("GET", f"{V1}/me/form", pns.get_form, roles=PNS, errors=AUTH),
        Route("PUT", f"{V1}/me/form/sections/<key>", pns.save_section, roles=PNS, body="section",
              response=s.VersionSchema, headers=("If-Match", "Idempotency-Key"),
              errors=(*AUTH, *BODY, "section_not_applicable", "unknown_section", "version_conflict", "form_locked",
                      "precondition_required", "campaign_closed")),
        Route("POST", f"{V1}/me/form/submit", pns.submit_form, roles=PNS, headers=("Idempotency-Key",),
              errors=(*AUTH, "incomplete", "form_locked", "campaign_closed")),
        Route("POST", f"{V1}/me/documents", pns.upload_document, roles=PNS, body="multipart",
              schema=s.UploadFormSchema, response=s.DocumentSchema, status=201, headers=("Idempotency-Key",),
              errors=(*AUTH, "too_large", "unsupported_type", "validation_error")),
        Route("GET", f"{V1}/me/documents/<id>", pns.get_document, roles=PNS,
              produces="application/octet-stream", errors=(*AUTH, "not_found")),
        Route("GET", f"{V1}/me/profile.pdf", pns.profile_pdf, roles=PNS, produces="application/pdf",
              errors=(*AUTH, "not_submitted")),
        Route("GET", f"{V1}/me/statement.pdf", pns.statement_pdf, roles=PNS, produces="application/pdf",
              errors=(*AUTH, "not_found")),
        Route("GET", f"{V1}/verifier/registrations", staff.list_registrations, roles=VERIFIER,
              query=("status", "cursor"), errors=(*AUTH, "validation_error")),
        Route("POST", f"{V1}/verifier/registrations/<nip>/confirm", staff.confirm_registration, roles=VERIFIER,
              headers=("Idempotency-Key",),
              errors=(*AUTH, "invalid_state", "not_found")),
        Route("POST", f"{V1}/verifier/registrations/<nip>/reject", staff.reject_registration, roles=VERIFIER,
              body="json", schema=s.ReasonSchema, headers=("Idempotency-Key",),
              errors=(*AUTH, *BODY, "invalid_state", "not_found")),
        Route("GET", f"{V1}/verifier/submissions", staff.list_submissions, roles=VERIFIER,
              query=("status", "cursor"), errors=(*AUTH, "validation_error")),
        Route("GET", f"{V1}/verifier/submissions.csv", staff.submissions_csv, roles=VERIFIER, produces="text/csv",
              errors=AUTH),
        Route("GET", f"{V1}/verifier/submissions/<nip>", staff.get_submission, roles=VERIFIER,
              errors=(*AUTH, "not_found")),
        Route("POST", f"{V1}/verifier/submissions/<nip>/approve", staff.approve_submission, roles=VERIFIER,
              headers=("Idempotency-Key",),
              errors=(*AUTH, "invalid_state", "not_found")),
        Route("POST", f"{V1}/verifier/submissions/<nip>/return", staff.return_submission, roles=VERIFIER,
              body="json", schema=s.ReturnNotesSchema, headers=("Idempotency-Key",),
              errors=(*AUTH, *BODY, "invalid_state", "not_found")),
        Route("POST", f"{V1}/admin/roster", staff.import_roster, roles=ADMIN, body="csv", status=202,
              response=s.JobAcceptedSchema, job=True, headers=("Idempotency-Key",),
              errors=(*AUTH, "too_large", "unsupported_type", "bad_request", "validation_error")),
        Route("GET", f"{V1}/admin/jobs/<id>", jobs.get_job, roles=ADMIN, response=s.JobSchema, job=True,
              errors=(*AUTH, "not_found")),
        Route("POST", f"{V1}/admin/verifiers", staff.create_verifier, roles=ADMIN, body="json",
              schema=s.VerifierCreateSchema, status=201, errors=(*AUTH, *BODY, "conflict")),
        Route("GET", f"{V1}/admin/verifiers", staff.list_verifiers, roles=ADMIN, query=("instansi_kode", "cursor"),
              errors=AUTH),
        Route("POST", f"{V1}/admin/verifiers/<username>/disable", staff.disable_verifier, roles=ADMIN, body="json",
              schema=s.ReasonSchema, errors=(*AUTH, *BODY, "not_found", "invalid_state")),
        Route("POST", f"{V1}/admin/verifiers/<username>/enable", staff.enable_verifier, roles=ADMIN, body="json",
              schema=s.ReasonSchema, errors=(*AUTH, *BODY, "not_found")),
        Route("GET", f"{V1}/admin/campaign", staff.get_campaign, roles=ADMIN, errors=AUTH),
        Route("PUT", f"{V1}/admin/campaign", staff.set_campaign, roles=ADMIN, body="json", schema=s.CampaignSchema,
              errors=(*AUTH, *BODY)),
        Route("POST", f"{V1}/admin/campaign/close", staff.close_campaign, roles=ADMIN, status=202,
              response=s.JobAcceptedSchema, job=True, headers=("Idempotency-Key",), errors=(*AUTH, "invalid_state")),
        Route("POST", f"{V1}/admin/records/<nip>/reopen", staff.reopen_record, roles=ADMIN, body="json",
              schema=s.ReasonSchema, errors=(*AUTH, *BODY, "invalid_state", "not_found")),
        Route("POST", f"{V1}/admin/records/<nip>/reinstate", staff.reinstate_record, roles=ADMIN, body="json",
              schema=s.ReasonSchema, errors=(*AUTH, *BODY, "invalid_state", "not_found")),
        Route("POST", f"{V1}/admin/records/<nip>/erase", staff.erase_record, roles=ADMIN, body="json",
              schema=s.ReasonSchema, errors=(*AUTH, *BODY, "not_found")),
        Route("GET", f"{V1}/admin/progress", staff.progress, roles=ADMIN, errors=AUTH),
        Route("GET", f"{V1}/admin/progress.csv", staff.progress_csv, roles=ADMIN, produces="text/csv", errors=AUTH),
        Route("GET", f"{V1}/admin/audit/verify", staff.audit_verify, roles=ADMIN, response=s.AuditReportSchema,
              job=True, wait=AUDIT_WAIT_SECONDS, result_keys=("streams_checked", "events_checked", "broken"),
              headers=("Idempotency-Key",), errors=AUTH),
        Route("GET", f"{V1}/admin/audit/<nip>", staff.audit_record, roles=ADMIN, errors=AUTH),
    ]
