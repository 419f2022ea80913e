"""The verification nameko service: thin entrypoints over verification.application."""
from __future__ import annotations

from nameko.events import event_handler

from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.actors import Actor, require_role
from pupns.deadlines import rpc
from pupns.dependencies import Store, consume_once
from verification import application, schemas
from verification.projections import ensure_read_models
from verification.public_events import public_events

STAFF = ("verifier", "admin")
REGISTRATION_ITEM = ("nip", "nama", "registration_number", "registered_at")
SUBMISSION_ITEM = ("nip", "nama", "submitted_at", "anomaly_count")


class VerificationService(service_base.AuditMixin):
    """Verifiers confirm registrations and approve or return submissions of their instansi."""

    name = "verification"
    store = Store(translator=public_events, setup_hook=lambda store: ensure_read_models(store.db))

    @rpc
    def list_registrations(self, actor: Actor, status: str = "pending", cursor: str | None = None,
                           limit: int = 50) -> dict:
        """Registrations in one status, first come first served, limited to the verifier's instansi."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.RegistrationListSchema, {"status": status, "cursor": cursor, "limit": limit})
        return application.list_queue(self.store, "registrations", actor, query, REGISTRATION_ITEM)

    @rpc
    def confirm_registration(self, nip: str, actor: Actor) -> dict:
        """Confirm a pending registration: the PNS may log in and their form opens."""
        return application.confirm_registration(self.store, nip, actor)

    @rpc
    def reject_registration(self, nip: str, reason: str, actor: Actor) -> dict:
        """Reject a pending registration with a reason; the PNS may register again."""
        require_role(actor, *STAFF)
        payload = schemas.load(schemas.RejectSchema, {"reason": reason})
        return application.reject_registration(self.store, nip, payload["reason"].strip(), actor)

    @rpc
    def list_submissions(self, actor: Actor, status: str = "submitted", cursor: str | None = None,
                         limit: int = 50) -> dict:
        """Submissions in one status, oldest first, limited to the verifier's instansi."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.SubmissionListSchema, {"status": status, "cursor": cursor, "limit": limit})
        return application.list_queue(self.store, "submissions", actor, query, SUBMISSION_ITEM)

    @rpc
    def export_submissions(self, actor: Actor, cursor: str | None = None, limit: int = 1000) -> dict:
        """One page of every submission of the verifier's instansi, any status, for the CSV export."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.ExportPageSchema, {"cursor": cursor, "limit": limit})
        return application.export_submissions(self.store, actor, query["cursor"], query["limit"])

    @rpc
    def get_submission(self, nip: str, actor: Actor) -> dict:
        """A submission with the roster, the changes against it, anomalies and referenced documents."""
        return application.get_submission(self.store, nip, actor)

    @rpc
    def approve_submission(self, nip: str, actor: Actor) -> dict:
        """Approve a submitted form: its data becomes verified."""
        return application.decide_submission(self.store, nip, actor, lambda s: s.approve(), "verified")

    @rpc
    def return_submission(self, nip: str, notes: dict, actor: Actor) -> dict:
        """Return a submitted form to the PNS with notes per section."""
        require_role(actor, *STAFF)
        payload = schemas.load(schemas.ReturnSchema, {"notes": notes})
        notes = {k: v.strip() for k, v in payload["notes"].items()}
        return application.decide_submission(self.store, nip, actor, lambda s: s.return_with_notes(notes),
                                             "returned")

    @event_handler("identity", "RegistrationSubmitted", requeue_on_error=True)
    def handle_registration_submitted(self, message: dict) -> None:
        """Queue a new registration for its instansi's verifiers."""
        consume_once(self.store, "handle_registration_submitted", message,
                     lambda key: application.receive_registration(self.store, message, key))

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """Queue a submitted form for review."""
        consume_once(self.store, "handle_form_submitted", message,
                     lambda key: application.receive_submission(self.store, message, key))
