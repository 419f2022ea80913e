"""The notifications nameko service: entrypoints only; the composition root of the notifications service."""
from __future__ import annotations

from nameko.events import event_handler

from notifications.adapters.mailer import SmtpMailer
from notifications.adapters.projections import Projector
from notifications.commands import IdentityEvent, Notifications, VerificationEvent
from notifications.settings import Settings
from pupns import contracts, service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.contracts import identity, verification
from pupns.deadlines import rpc
from pupns.dependencies import Config, Store
from pupns.errors import AppError
from pupns.personal.provider import PersonalData
from pupns.polling import poll
from pupns.retry_queue import POLL_CEILING_SECONDS

# A timer's interval is fixed when the class is defined, so this one setting is read at import.
RETRY_INTERVAL = Settings.from_env().mail_retry_interval
WAITING_HERE: set[str] = set()  # this process's NIPs with a decision e-mail waiting for their contact


class NotificationsService(service_base.AuditMixin):
    """Contact addresses and the e-mail outbox; every e-mail is retried until the SMTP server takes it."""

    name = "notifications"
    store = Store(setup_hook=lambda store: Projector.ensure_indexes(store.db))
    settings = Config(Settings.from_env)
    personal = PersonalData()  # contact addresses and e-mails sealed per PNS (SPEC §7)

    @property
    def app(self) -> Notifications:
        mailer = SmtpMailer(self.settings.smtp_host, self.settings.smtp_port, self.settings.mail_from)
        return Notifications(self.store, mailer, self.settings, self.personal, WAITING_HERE)

    @rpc
    def emails_of(self, nip: str, actor: dict) -> list[dict]:
        """A PNS's e-mails, their state (sent, retrying, waiting for an address, given up) and opened address:
        theirs, or staff's view."""
        if (actor or {}).get("role") == "pns" and actor.get("id") != nip:
            raise AppError("not_found")
        return self.app.emails_of(nip)

    @event_handler("identity", "RegistrationSubmitted", requeue_on_error=True)
    def handle_registration_submitted(self, message: dict) -> None:
        """Record the contact and send 'Pendaftaran PUPNS diterima'."""
        app = self.app
        # The dedupe key lands with the contact; the e-mail dedupes itself on its stream's version 0.
        if not contracts.consume(self.store, "handle_registration_submitted", message, identity.RegistrationSubmitted,
                                 app.on_registration_submitted):
            app.deliver(message["event_id"])  # a redelivery: the e-mail may still be due

    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """Send 'Pendaftaran dikonfirmasi, silakan masuk'."""
        self._verification_event("handle_registration_confirmed", message, verification.RegistrationConfirmed)

    @event_handler("verification", "RegistrationRejected", requeue_on_error=True)
    def handle_registration_rejected(self, message: dict) -> None:
        """Send the rejection with its reason."""
        self._verification_event("handle_registration_rejected", message, verification.RegistrationRejected)

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """Send 'Data Anda telah diverifikasi'."""
        self._verification_event("handle_submission_approved", message, verification.SubmissionApproved)

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """Send the verifier's notes per section."""
        self._verification_event("handle_submission_returned", message, verification.SubmissionReturned)

    def _verification_event(self, handler: str, message: dict, contract: type[VerificationEvent]) -> None:
        app = self.app
        if not contracts.consume(self.store, handler, message, contract, app.on_verification_event):
            app.deliver(message["event_id"])  # a redelivery: the e-mail may still be due

    @event_handler("identity", "ReminderDue", requeue_on_error=True)
    def handle_reminder_due(self, message: dict) -> None:
        """Remind a registered PNS with no submission of the deadline."""
        self._identity_event("handle_reminder_due", message, identity.ReminderDue)

    @event_handler("identity", "MarkedNotReregistered", requeue_on_error=True)
    def handle_marked_not_reregistered(self, message: dict) -> None:
        """Tell the PNS the campaign closed without their submission."""
        self._identity_event("handle_marked_not_reregistered", message, identity.MarkedNotReregistered)

    @event_handler("identity", "Reinstated", requeue_on_error=True)
    def handle_reinstated(self, message: dict) -> None:
        """Tell the PNS the sanction was lifted."""
        self._identity_event("handle_reinstated", message, identity.Reinstated)

    def _identity_event(self, handler: str, message: dict, contract: type[IdentityEvent]) -> None:
        app = self.app
        if not contracts.consume(self.store, handler, message, contract, app.on_identity_event):
            app.deliver(message["event_id"])  # a redelivery: the e-mail may still be due

    @poll(interval=RETRY_INTERVAL, ceiling=POLL_CEILING_SECONDS)
    def retry_emails(self) -> int:
        """Deliver every e-mail that is due (first tries that failed, backoff expired, newly addressed)."""
        return self.app.deliver_due()
