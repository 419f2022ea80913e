"""The forms nameko service: thin entrypoints over forms.application."""
from __future__ import annotations

from typing import Any

from nameko.events import event_handler

from forms import admin, application
from forms.projections import ensure_read_models
from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.deadlines import rpc
from pupns.dependencies import Store, consume_once


class FormsService(service_base.AuditMixin):
    """A PNS's re-registration form: prefilled on confirmation, saved per section, submitted, decided."""

    name = "forms"
    store = Store(setup_hook=lambda store: ensure_read_models(store.db))

    @rpc
    def get_form(self, nip: str) -> dict:
        """The form as the PNS sees it: version, status, sections, applicable sections, anomalies, notes."""
        return application.get_form(self.store, nip)

    @rpc
    def save_section(self, nip: str, key: str, value: Any, expected_version: int) -> dict:
        """Replace one section if `expected_version` is current; returns the new version."""
        return application.save_section(self.store, nip, key, value, expected_version)

    @rpc
    def submit_form(self, nip: str) -> dict:
        """Lock the form and hand it to verification."""
        return application.submit_form(self.store, nip)

    @rpc
    def get_profile_data(self, nip: str) -> dict:
        """Everything the Profil PNS document shows (after submission)."""
        return application.get_profile_data(self.store, nip)

    @rpc
    def reopen_record(self, nip: str, reason: str, actor: dict) -> dict:
        """An administrator reopens a verified form (back to draft), with a reason."""
        return admin.reopen_record(self.store, nip, reason, actor)

    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """Open the form prefilled from the roster."""
        consume_once(self.store, "handle_registration_confirmed", message,
                     lambda key: application.open_form(self.store, message, key))

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """Reopen the form for edits, with the verifier's notes."""
        consume_once(self.store, "handle_submission_returned", message,
                     lambda key: application.return_form(self.store, message, key))

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """Mark the form verified."""
        consume_once(self.store, "handle_submission_approved", message,
                     lambda key: application.verify_form(self.store, message, key))

    @event_handler("identity", "CampaignScheduled", requeue_on_error=True)
    def handle_campaign_scheduled(self, message: dict) -> None:
        """Keep a copy of the campaign window."""
        consume_once(self.store, "handle_campaign_scheduled", message,
                     lambda key: application.observe_campaign(self.store, message, key))
