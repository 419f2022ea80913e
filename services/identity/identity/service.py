"""The identity nameko service: thin RPC and event entrypoints over the use cases."""
from __future__ import annotations

import logging
import os
import uuid

from nameko.events import event_handler
from nameko.timer import timer

from identity import admin, application, form_anomalies, importer, login, reminders, roster_job, sanctions, staff
from identity import progress as dashboard
from identity.domain import returned_note
from identity.projections import ensure_read_model_indexes
from identity.public_events import public_events
from pupns import jobs, service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.actors import require_role
from pupns.deadlines import rpc
from pupns.dependencies import Store, consume_once
from pupns.eventstore import EventStore

log = logging.getLogger(__name__)
JOB_STEPS = {roster_job.KIND: roster_job.step, sanctions.CLOSE_KIND: sanctions.close_step,
             reminders.KIND: reminders.step}
JOB_BUDGET_SECONDS = 5.0  # one timer worker's share before the next tick goes on (keeps stop() prompt)
OWNER = f"identity:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this process, as a job lease holder


def _setup(store: EventStore) -> None:
    ensure_read_model_indexes(store.db)
    # The spec's first admin comes from PUPNS_ADMIN_PASSWORD at first start (idempotent).
    password = os.environ.get("PUPNS_ADMIN_PASSWORD")
    if password:
        admin.bootstrap_admin(store, password)


class IdentityService(service_base.AuditMixin):
    """Roster, PNS and staff accounts, login and the campaign window."""

    name = "identity"
    store = Store(translator=public_events, setup_hook=_setup)

    @rpc
    def register(self, payload: dict, idempotency_key: str | None = None) -> dict:
        """Register a roster PNS (pending a verifier's confirmation)."""
        return application.register(self.store, payload, idempotency_key)

    @rpc
    def issue_token(self, username: str, password: str, device: str | None = None) -> dict:
        """Log in a PNS (by NIP) or a staff member (by username)."""
        return login.issue_token(self.store, username, password, device)

    @rpc
    def get_me(self, nip: str) -> dict:
        """A PNS's account status and timeline."""
        return application.get_me(self.store, nip)

    @rpc
    def get_registration(self, registration_number: str) -> dict:
        """Data printed on a registration receipt."""
        return application.get_registration(self.store, registration_number)

    @rpc
    def import_roster(self, csv_text: str, actor: dict) -> dict:
        """Load a small roster CSV at once (tests, internal tools); uploads go through a job."""
        return importer.import_roster(self.store, csv_text, actor)

    @rpc
    def stage_roster_chunks(self, upload_id: str, chunks: list, actor: dict) -> dict:
        """Keep chunks of an uploaded roster CSV until `start_roster_import` takes them."""
        return roster_job.stage_chunks(self.store, upload_id, chunks, actor)

    @rpc
    def start_roster_import(self, upload_id: str, actor: dict, idempotency_key: str | None = None) -> dict:
        """Start (or find, by idempotency key) the job importing a staged roster."""
        return roster_job.start_import(self.store, upload_id, actor, idempotency_key)

    @rpc
    def get_job(self, job_id: str, actor: dict) -> dict:
        """A job's status, progress and result (administrators)."""
        require_role(actor, "admin")
        return jobs.get(self.store, job_id)

    @rpc
    def create_verifier(self, payload: dict, actor: dict) -> dict:
        """An administrator creates a verifier account."""
        return admin.create_verifier(self.store, payload, actor)

    @rpc
    def list_staff(self, actor: dict, instansi_kode: str | None = None, cursor: str | None = None) -> dict:
        """An administrator's list of verifier accounts."""
        return staff.list_staff(self.store, actor, instansi_kode, cursor)

    @rpc
    def set_staff_active(self, username: str, active: bool, reason: str, actor: dict) -> dict:
        """An administrator disables or enables a staff account (audited)."""
        return staff.set_active(self.store, username, active, reason, actor)

    @rpc
    def revoked_staff(self) -> dict:
        """Disabled staff accounts and since when: the edge and the console refuse their tokens."""
        return staff.revoked(self.store)

    @rpc
    def bootstrap_admin(self, password: str) -> dict:
        """Create the first administrator if there is none."""
        return admin.bootstrap_admin(self.store, password)

    @rpc
    def get_campaign(self) -> dict:
        """The campaign window and whether it is open."""
        return admin.get_campaign(self.store)

    @rpc
    def set_campaign(self, payload: dict, actor: dict) -> dict:
        """Schedule or extend the campaign window."""
        return admin.set_campaign(self.store, payload, actor)

    @rpc
    def progress(self, actor: dict) -> dict:
        """Counts per instansi for the admin dashboard."""
        return dashboard.progress(self.store, actor)

    @rpc
    def close_campaign(self, actor: dict, idempotency_key: str | None = None) -> dict:
        """Close the window now; a job marks every roster PNS without a submission as not_reregistered."""
        return sanctions.close_campaign(self.store, actor, idempotency_key)

    @rpc
    def reinstate(self, nip: str, reason: str, actor: dict) -> dict:
        """An administrator lifts the not_reregistered sanction, with a reason."""
        return sanctions.reinstate(self.store, nip, reason, actor)

    @timer(interval=0.5)
    def run_jobs(self) -> None:
        """Close the campaign at its deadline, remind before it, then work on stored jobs (resuming any left over)."""
        for due in (sanctions.close_when_due, reminders.schedule_due, roster_job.sweep):
            try:
                due(self.store)
            except Exception:  # logged; the deadline is checked again on the next tick
                log.exception("%s failed; retrying on the next tick", due.__name__)
        jobs.run_pending(self.store, JOB_STEPS, OWNER, JOB_BUDGET_SECONDS)

    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """A verifier confirmed: the PNS may log in."""
        consume_once(self.store, "handle_registration_confirmed", message,
                     lambda key: application.handle_registration_confirmed(self.store, message, key))

    @event_handler("verification", "RegistrationRejected", requeue_on_error=True)
    def handle_registration_rejected(self, message: dict) -> None:
        """A verifier rejected: the PNS may register again."""
        consume_once(self.store, "handle_registration_rejected", message,
                     lambda key: application.handle_registration_rejected(self.store, message, key))

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """The PNS submitted the form (made before a close, it lifts that close's sanction)."""
        def apply(key: str) -> None:
            sanctions.lift_for_submission(self.store, message, key)
            application.handle_status_change(self.store, message, key, "submitted")

        consume_once(self.store, "handle_form_submitted", message, apply)

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_anomalies(self, message: dict) -> None:
        """Count the submitted form's anomalies on the dashboard (the same NIK on two NIPs among them)."""
        consume_once(self.store, "handle_form_anomalies", message,
                     lambda key: form_anomalies.note(self.store, message, key))

    @event_handler("forms", "FormReopened", requeue_on_error=True)
    def handle_form_reopened(self, message: dict) -> None:
        """An administrator reopened a verified form: the PNS sees draft again."""
        reason = message["data"].get("reason")
        consume_once(self.store, "handle_form_reopened", message,
                     lambda key: application.handle_status_change(self.store, message, key, "draft", reason))

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """A verifier returned the submission with notes."""
        note = returned_note(message["data"].get("notes"))
        consume_once(self.store, "handle_submission_returned", message,
                     lambda key: application.handle_status_change(self.store, message, key, "returned", note))

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """A verifier approved: roster takes the verified values, the account shows `verified`."""
        consume_once(self.store, "handle_submission_approved", message,
                     lambda key: importer.handle_submission_approved(self.store, message, key))

    # -- e-Meterai stamping of the submission statement (documents): timeline only, status unchanged ----
    @event_handler("documents", "StampRequested", requeue_on_error=True)
    def handle_stamp_requested(self, message: dict) -> None:
        """The statement was issued and sent for stamping."""
        self._note_stamping("handle_stamp_requested", message)

    @event_handler("documents", "StampFailed", requeue_on_error=True)
    def handle_stamp_failed(self, message: dict) -> None:
        """The e-Meterai provider failed; documents retries (the first failure shows as pending)."""
        self._note_stamping("handle_stamp_failed", message)

    @event_handler("documents", "StatementStamped", requeue_on_error=True)
    def handle_statement_stamped(self, message: dict) -> None:
        """The statement carries its e-Meterai."""
        self._note_stamping("handle_statement_stamped", message)

    def _note_stamping(self, handler: str, message: dict) -> None:
        consume_once(self.store, handler, message,
                     lambda key: application.note_stamping(self.store, message, key))
