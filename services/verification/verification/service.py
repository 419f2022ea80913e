"""The verification nameko service: entrypoints only, and the composition root (settings, store, adapters)."""
from __future__ import annotations

from nameko.events import event_handler

from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.actors import Actor, require_role
from pupns.contracts import consume
from pupns.contracts.forms import FormSubmitted
from pupns.contracts.identity import RegistrationSubmitted
from pupns.deadlines import rpc
from pupns.personal.provider import PersonalData
from verification import commands, schemas
from verification.adapters import Deps
from verification.adapters.public_events import PublishingStore
from verification.settings import Settings

SETTINGS = Settings.from_env()
STAFF = ("verifier", "admin")
REGISTRATION_ITEM = ("nip", "nama", "registration_number", "registered_at")
SUBMISSION_ITEM = ("nip", "nama", "submitted_at", "anomaly_count")


class VerificationService(service_base.AuditMixin):
    """Verifiers confirm registrations and approve or return submissions of their instansi."""

    name = "verification"
    store = PublishingStore()  # its relay publishes granted subscribers' copies too
    personal = PersonalData()  # registrations and submissions sealed per PNS (SPEC §7)

    @property
    def deps(self) -> Deps:
        return Deps.of(self.store, SETTINGS, self.personal)

    @rpc
    def list_registrations(self, actor: Actor, status: str = "pending", cursor: str | None = None,
                           limit: int = 50) -> dict:
        """Registrations in one status, first come first served, limited to the verifier's instansi."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.RegistrationListSchema, {"status": status, "cursor": cursor, "limit": limit})
        return commands.list_queue(self.deps, "registrations", actor, query, REGISTRATION_ITEM)

    @rpc
    def confirm_registration(self, nip: str, actor: Actor, idempotency_key: str | None = None) -> dict:
        """Confirm a pending registration: the PNS may log in and their form opens (a repeat with the same
        idempotency key returns the first answer)."""
        return commands.confirm_registration(self.deps, nip, actor, idempotency_key)

    @rpc
    def reject_registration(self, nip: str, reason: str, actor: Actor, idempotency_key: str | None = None) -> dict:
        """Reject a pending registration with a reason; the PNS may register again."""
        require_role(actor, *STAFF)
        payload = schemas.load(schemas.RejectSchema, {"reason": reason})
        return commands.reject_registration(self.deps, nip, payload["reason"].strip(), actor, idempotency_key)

    @rpc
    def list_submissions(self, actor: Actor, status: str = "submitted", cursor: str | None = None,
                         limit: int = 50) -> dict:
        """Submissions in one status, oldest first, limited to the verifier's instansi."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.SubmissionListSchema, {"status": status, "cursor": cursor, "limit": limit})
        return commands.list_queue(self.deps, "submissions", actor, query, SUBMISSION_ITEM)

    @rpc
    def export_submissions(self, actor: Actor, cursor: str | None = None, limit: int = 1000) -> dict:
        """One page of every submission of the verifier's instansi, any status, for the CSV export."""
        require_role(actor, *STAFF)
        query = schemas.load(schemas.ExportPageSchema, {"cursor": cursor, "limit": limit})
        return commands.export_submissions(self.deps, actor, query["cursor"], query["limit"])

    @rpc
    def get_submission(self, nip: str, actor: Actor) -> dict:
        """A submission with the roster, the changes against it, anomalies and referenced documents."""
        return commands.get_submission(self.deps, nip, actor)

    @rpc
    def approve_submission(self, nip: str, actor: Actor, idempotency_key: str | None = None) -> dict:
        """Approve a submitted form: its data becomes verified (a repeat with the same idempotency key returns the
        first answer)."""
        return commands.approve_submission(self.deps, nip, actor, idempotency_key)

    @rpc
    def return_submission(self, nip: str, notes: dict, actor: Actor, idempotency_key: str | None = None) -> dict:
        """Return a submitted form to the PNS with notes per section."""
        require_role(actor, *STAFF)
        payload = schemas.load(schemas.ReturnSchema, {"notes": notes})
        notes = {k: v.strip() for k, v in payload["notes"].items()}
        return commands.return_submission(self.deps, nip, notes, actor, idempotency_key)

    @rpc
    def set_subscriber_grants(self, name: str, fields: list, actor: Actor) -> dict:
        """An administrator grants a public subscriber exactly these personal fields in clear (empty: withdraws),
        audited as SubscriberGrantsSet on `subscriber-{name}`; {name, fields, changed}."""
        return commands.set_subscriber_grants(self.deps, name, fields, actor)

    @rpc
    def subscriber_grants(self) -> list[dict]:
        """Every subscriber granted personal fields: [{name, fields}] by name."""
        return commands.subscriber_grants(self.deps)

    @event_handler("identity", "RegistrationSubmitted", requeue_on_error=True)
    def handle_registration_submitted(self, message: dict) -> None:
        """Queue a new registration for its instansi's verifiers."""
        deps, meta = self.deps, commands.consumer_meta(message)
        consume(self.store, "handle_registration_submitted", message, RegistrationSubmitted,
                lambda event, key: commands.receive_registration(deps, event, meta, key))

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """Queue a submitted form for review."""
        deps, meta = self.deps, commands.consumer_meta(message)
        consume(self.store, "handle_form_submitted", message, FormSubmitted,
                lambda event, key: commands.receive_submission(deps, event, meta, key))
