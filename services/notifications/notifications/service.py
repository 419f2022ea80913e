"""The notifications nameko service: thin entrypoints over `notifications.application`."""
from __future__ import annotations

import os

from nameko.events import event_handler
from nameko.timer import timer

from notifications.application import Notifications
from notifications.mailer import Mailer
from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.deadlines import rpc
from pupns.dependencies import Store, consume_once, pause_before_requeue
from pupns.errors import AppError

RETRY_INTERVAL = float(os.environ.get("PUPNS_MAIL_RETRY_INTERVAL", "2"))


class NotificationsService(service_base.AuditMixin):
    """Contact addresses and the e-mail outbox; every e-mail is retried until the SMTP server takes it."""

    name = "notifications"
    store = Store(setup_hook=lambda store: store.db["emails"].create_index([("nip", 1), ("queued_at", 1)]))
    mailer = Mailer()

    @rpc
    def emails_of(self, nip: str, actor: dict) -> list[dict]:
        """A PNS's e-mails and their state (sent, retrying, waiting for an address): theirs, or staff's view."""
        if (actor or {}).get("role") == "pns" and actor.get("id") != nip:
            raise AppError("not_found")
        return self.app.emails_of(nip)

    @property
    def app(self) -> Notifications:
        return Notifications(self.store, self.mailer)

    @event_handler("identity", "RegistrationSubmitted", requeue_on_error=True)
    def handle_registration_submitted(self, message: dict) -> None:
        """Record the contact and send 'Pendaftaran PUPNS diterima'."""
        app = self.app
        # consume_once dedupes the contact; the e-mail dedupes itself on its stream's version 0.
        if not consume_once(self.store, "handle_registration_submitted", message,
                            lambda key: app.on_registration_submitted(message, key)):
            app.deliver(message["event_id"])

    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """Send 'Pendaftaran dikonfirmasi, silakan masuk'."""
        pause_before_requeue(self.app.on_verification_event, message)

    @event_handler("verification", "RegistrationRejected", requeue_on_error=True)
    def handle_registration_rejected(self, message: dict) -> None:
        """Send the rejection with its reason."""
        pause_before_requeue(self.app.on_verification_event, message)

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """Send 'Data Anda telah diverifikasi'."""
        pause_before_requeue(self.app.on_verification_event, message)

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """Send the verifier's notes per section."""
        pause_before_requeue(self.app.on_verification_event, message)

    @event_handler("identity", "ReminderDue", requeue_on_error=True)
    def handle_reminder_due(self, message: dict) -> None:
        """Remind a registered PNS with no submission of the deadline."""
        self._identity_event("handle_reminder_due", message)

    @event_handler("identity", "MarkedNotReregistered", requeue_on_error=True)
    def handle_marked_not_reregistered(self, message: dict) -> None:
        """Tell the PNS the campaign closed without their submission."""
        self._identity_event("handle_marked_not_reregistered", message)

    @event_handler("identity", "Reinstated", requeue_on_error=True)
    def handle_reinstated(self, message: dict) -> None:
        """Tell the PNS the sanction was lifted."""
        self._identity_event("handle_reinstated", message)

    def _identity_event(self, handler: str, message: dict) -> None:
        app = self.app
        if not consume_once(self.store, handler, message, lambda key: app.on_identity_event(message, key)):
            app.deliver(message["event_id"])  # a redelivery: the e-mail may still be due

    @timer(interval=RETRY_INTERVAL)
    def retry_emails(self) -> None:
        """Deliver every e-mail that is due (first tries that failed, backoff expired, newly addressed)."""
        self.app.deliver_due()
