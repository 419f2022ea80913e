"""The identity nameko service: thin RPC and event entrypoints over the use cases (wired by identity.wiring)."""
from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import UTC, datetime

from nameko.events import event_handler
from nameko.timer import timer

from identity.adapters import Deps
from identity.adapters.public_events import public_events
from identity.commands import (
    accounts,
    admin,
    audit_job,
    deadlines,
    form_anomalies,
    login,
    passwords,
    personal_data,
    progress,
    registration,
    reminders,
    roster,
    roster_job,
    sanctions,
    staff,
)
from identity.domain.rules import returned_note
from identity.wiring import DeadlineClockProvider, cause_meta, deps_of, job_steps, setup_store
from pupns import jobs, service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.actors import require_role
from pupns.contracts import Contract, consume
from pupns.contracts.documents import StampFailed, StampRequested, StatementStamped
from pupns.contracts.forms import FormReopened, FormSubmitted
from pupns.contracts.verification import (
    RegistrationConfirmed,
    RegistrationRejected,
    SubmissionApproved,
    SubmissionReturned,
)
from pupns.deadlines import rpc
from pupns.dependencies import Store
from pupns.personal.provider import PersonalData
from pupns.polling import poll
from pupns.service_calls import ServiceCalls

log = logging.getLogger(__name__)
TICK_SECONDS = 0.5  # deadline checks and the job runner's fast poll
JOB_POLL_CEILING_SECONDS = 4.0  # the job runner's slowest poll (jobs created here wake it at once)
JOB_BUDGET_SECONDS = 5.0  # one timer worker's share before the next tick goes on (keeps stop() prompt)
OWNER = f"identity:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this process, as a job lease holder


class IdentityService(service_base.AuditMixin):
    """Roster, PNS and staff accounts, login and the campaign window."""

    name = "identity"
    store = Store(translator=public_events, setup_hook=setup_store)
    personal = PersonalData()
    deadline_clock = DeadlineClockProvider()
    services = ServiceCalls()  # other services' RPCs (the audit job pages through every service's log)

    @property
    def deps(self) -> Deps:
        return deps_of(self.store, self.personal)

    @rpc
    def register(self, payload: dict, idempotency_key: str | None = None) -> dict:
        """Register a roster PNS (pending a verifier's confirmation)."""
        return registration.register(self.deps, payload, idempotency_key)

    @rpc
    def issue_token(self, username: str, password: str, device: str | None = None) -> dict:
        """Log in a PNS (by NIP) or a staff member (by username)."""
        return login.issue_token(self.deps, username, password, device)

    @rpc
    def get_me(self, nip: str) -> dict:
        """A PNS's account status and timeline."""
        return accounts.get_me(self.deps, nip)

    @rpc
    def get_registration(self, registration_number: str) -> dict:
        """Data printed on a registration receipt."""
        return accounts.get_registration(self.deps, registration_number)

    @rpc
    def erase_record(self, nip: str, reason: str, actor: dict) -> dict:
        """An administrator erases a PNS's personal data (audited; repeating it changes nothing)."""
        return personal_data.erase_record(self.deps, nip, reason, actor)

    @rpc
    def export_of(self, nip: str) -> dict:
        """Everything identity holds about a PNS, opened for the PNS themselves (`GET /me/export`)."""
        return personal_data.export_of(self.deps, nip)

    @rpc
    def import_roster(self, csv_text: str, actor: dict) -> dict:
        """Load a small roster CSV at once (tests, internal tools); uploads go through a job."""
        return roster.import_roster(self.deps, csv_text, actor)

    @rpc
    def stage_roster_chunks(self, upload_id: str, chunks: list, actor: dict) -> dict:
        """Keep chunks of an uploaded roster CSV until `start_roster_import` takes them."""
        return roster_job.stage_chunks(self.deps, upload_id, chunks, actor)

    @rpc
    def start_roster_import(self, upload_id: str, actor: dict, idempotency_key: str | None = None) -> dict:
        """Start (or find, by idempotency key) the job importing a staged roster."""
        return roster_job.start_import(self.deps, upload_id, actor, idempotency_key)

    @rpc
    def get_job(self, job_id: str, actor: dict) -> dict:
        """A job's status, progress and result (administrators)."""
        require_role(actor, "admin")
        return jobs.get(self.store, job_id)

    @rpc
    def start_audit_verify(self, actor: dict, idempotency_key: str | None = None) -> dict:
        """Start (or find, by idempotency key) the job checking every service's hash chains (administrators)."""
        return audit_job.start(self.deps, actor, idempotency_key)

    @rpc
    def create_verifier(self, payload: dict, actor: dict) -> dict:
        """An administrator creates a verifier account."""
        return admin.create_verifier(self.deps, payload, actor)

    @rpc
    def list_staff(self, actor: dict, instansi_kode: str | None = None, cursor: str | None = None) -> dict:
        """An administrator's list of verifier accounts."""
        return staff.list_staff(self.deps, actor, instansi_kode, cursor)

    @rpc
    def set_staff_active(self, username: str, active: bool, reason: str, actor: dict) -> dict:
        """An administrator disables or enables a staff account (audited)."""
        return staff.set_active(self.deps, username, active, reason, actor)

    @rpc
    def change_password(self, current_password: str, new_password: str, actor: dict) -> dict:
        """A verifier or administrator changes their own password; their older tokens stop working (audited)."""
        return passwords.change_own(self.deps, current_password, new_password, actor)

    @rpc
    def set_staff_password(self, username: str, new_password: str, actor: dict) -> dict:
        """An administrator sets a staff account's password (audited); its older tokens stop working."""
        return passwords.set_password(self.deps, username, new_password, actor)

    @rpc
    def revoked_staff(self) -> dict:
        """Disabled staff accounts and password changes, and since when: the edge and the console refuse tokens
        issued before."""
        return staff.revoked(self.deps)

    @rpc
    def bootstrap_admin(self, password: str) -> dict:
        """Create the first administrator if there is none."""
        return admin.bootstrap_admin(self.deps, password)

    @rpc
    def in_own_instansi(self, nip: str, actor: dict) -> dict:
        """Whether a NIP is on the roster of the calling verifier's instansi: `{own}` only, nothing else about it.

        The edge asks it when verification refused a NIP it has no record of in the verifier's instansi: 404 for
        a NIP of their own roster, 403 for every other NIP, whether on another instansi's roster or on none."""
        require_role(actor, "verifier")
        entry = self.deps.read.roster_entry(str(nip)) or {}
        return {"own": bool(actor.get("instansi_kode")) and entry.get("instansi_kode") == actor.get("instansi_kode")}

    @rpc
    def get_campaign(self) -> dict:
        """The campaign window and whether it is open."""
        return admin.get_campaign(self.deps)

    @rpc
    def set_campaign(self, payload: dict, actor: dict) -> dict:
        """Schedule or extend the campaign window."""
        return admin.set_campaign(self.deps, payload, actor)

    @rpc
    def progress(self, actor: dict) -> dict:
        """Counts per instansi for the admin dashboard."""
        return progress.progress(self.deps, actor)

    @rpc
    def close_campaign(self, actor: dict, idempotency_key: str | None = None) -> dict:
        """Close the window now; a job marks every roster PNS without a submission as not_reregistered."""
        return sanctions.close_campaign(self.deps, actor, idempotency_key)

    @rpc
    def reinstate(self, nip: str, reason: str, actor: dict) -> dict:
        """An administrator lifts the not_reregistered sanction, with a reason."""
        return sanctions.reinstate(self.deps, nip, reason, actor)

    @timer(interval=TICK_SECONDS)
    def check_deadlines(self) -> None:
        """Close the campaign at its deadline and remind before it (querying only when one is due); sweep uploads."""
        deadlines.check(self.deps, self.deadline_clock, (sanctions.close_when_due, reminders.schedule_due),
                        datetime.now(UTC), time.monotonic())
        try:
            roster_job.sweep(self.deps)
        except Exception:  # logged; swept again later
            log.exception("sweeping abandoned uploads failed")

    @poll(interval=TICK_SECONDS, ceiling=JOB_POLL_CEILING_SECONDS, signal=jobs.SUBMITTED)
    def run_jobs(self) -> int:
        """Work on stored jobs, resuming any left over; woken at once by a job created here, else polls slowly."""
        return jobs.run_pending(self.store, job_steps(self.personal, self.services), OWNER, JOB_BUDGET_SECONDS)

    # -- events of other services, read through their contracts ------------------------------------------
    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """A verifier confirmed: the PNS may log in."""
        consume(self.store, "handle_registration_confirmed", message, RegistrationConfirmed,
                lambda event, key: accounts.confirm(self.deps, event, cause_meta(message), key))

    @event_handler("verification", "RegistrationRejected", requeue_on_error=True)
    def handle_registration_rejected(self, message: dict) -> None:
        """A verifier rejected: the PNS may register again."""
        consume(self.store, "handle_registration_rejected", message, RegistrationRejected,
                lambda event, key: accounts.reject(self.deps, event, cause_meta(message), key))

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """The PNS submitted the form (made before a close, it lifts that close's sanction)."""
        def apply(event: FormSubmitted, key: str) -> None:
            sanctions.lift_for_submission(self.deps, event, key)
            accounts.change_form_status(self.deps, event.nip, "submitted", None, cause_meta(message), key,
                                        since=event.occurred_at)

        consume(self.store, "handle_form_submitted", message, FormSubmitted, apply)

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_anomalies(self, message: dict) -> None:
        """Count the submitted form's anomalies on the dashboard (the same NIK on two NIPs among them)."""
        consume(self.store, "handle_form_anomalies", message, FormSubmitted,
                lambda event, key: form_anomalies.note(self.deps, event, key))

    @event_handler("forms", "FormReopened", requeue_on_error=True)
    def handle_form_reopened(self, message: dict) -> None:
        """An administrator reopened a verified form: the PNS sees draft again."""
        consume(self.store, "handle_form_reopened", message, FormReopened,
                lambda event, key: accounts.change_form_status(self.deps, event.nip, "draft", event.reason,
                                                               cause_meta(message), key, since=event.occurred_at))

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """A verifier returned the submission with notes."""
        consume(self.store, "handle_submission_returned", message, SubmissionReturned,
                lambda event, key: accounts.change_form_status(self.deps, event.nip, "returned",
                                                               returned_note(event.notes), cause_meta(message), key,
                                                               since=event.occurred_at))

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """A verifier approved: roster takes the verified values, the account shows `verified`."""
        consume(self.store, "handle_submission_approved", message, SubmissionApproved,
                lambda event, key: roster.apply_approved_submission(self.deps, event, cause_meta(message), key))

    # -- e-Meterai stamping of the submission statement (documents): timeline only, status unchanged ----
    @event_handler("documents", "StampRequested", requeue_on_error=True)
    def handle_stamp_requested(self, message: dict) -> None:
        """The statement was issued and sent for stamping."""
        self._note_stamping("handle_stamp_requested", message, StampRequested)

    @event_handler("documents", "StampFailed", requeue_on_error=True)
    def handle_stamp_failed(self, message: dict) -> None:
        """The e-Meterai provider failed; documents retries (the first failure shows as pending)."""
        self._note_stamping("handle_stamp_failed", message, StampFailed)

    @event_handler("documents", "StatementStamped", requeue_on_error=True)
    def handle_statement_stamped(self, message: dict) -> None:
        """The statement carries its e-Meterai."""
        self._note_stamping("handle_statement_stamped", message, StatementStamped)

    def _note_stamping(self, handler: str, message: dict, contract: type[Contract]) -> None:
        consume(self.store, handler, message, contract,
                lambda event, key: accounts.note_stamping(self.deps, event, key))
