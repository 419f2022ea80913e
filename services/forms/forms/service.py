"""The forms nameko service: entrypoints only, and the composition root (settings, store, adapters)."""
from __future__ import annotations

from typing import Any

from nameko.events import event_handler

from forms import commands
from forms.adapters import Deps
from forms.adapters.projections import Projector
from forms.settings import Settings
from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.contracts import consume
from pupns.contracts.identity import CampaignScheduled
from pupns.contracts.verification import RegistrationConfirmed, SubmissionApproved, SubmissionReturned
from pupns.deadlines import rpc
from pupns.dependencies import Store
from pupns.personal.provider import PersonalData

SETTINGS = Settings.from_env()


class FormsService(service_base.AuditMixin):
    """A PNS's re-registration form: prefilled on confirmation, saved per section, submitted, decided."""

    name = "forms"
    store = Store(setup_hook=lambda store: Projector.ensure_indexes(store.db))
    personal = PersonalData()  # the form's personal fields sealed per PNS (SPEC §7)

    @property
    def deps(self) -> Deps:
        return Deps.of(self.store, SETTINGS, self.personal)

    @rpc
    def get_form(self, nip: str) -> dict:
        """The form as the PNS sees it: version, status, sections (opened; erased values null and `_erased`),
        applicable sections, anomalies, notes."""
        return commands.get_form(self.deps, nip)

    @rpc
    def save_section(self, nip: str, key: str, value: Any, expected_version: int,
                     idempotency_key: str | None = None) -> dict:
        """Replace one section if `expected_version` is current; returns the new version (a repeat with the same
        idempotency key returns the first answer)."""
        return commands.save_section(self.deps, nip, key, value, expected_version, idempotency_key)

    @rpc
    def submit_form(self, nip: str, idempotency_key: str | None = None) -> dict:
        """Lock the form and hand it to verification (a repeat with the same idempotency key returns the first
        answer)."""
        return commands.submit_form(self.deps, nip, idempotency_key)

    @rpc
    def get_profile_data(self, nip: str) -> dict:
        """Everything the Profil PNS document shows (after submission)."""
        return commands.get_profile_data(self.deps, nip)

    @rpc
    def reopen_record(self, nip: str, reason: str, actor: dict) -> dict:
        """An administrator reopens a verified form (back to draft), with a reason."""
        return commands.reopen_record(self.deps, nip, reason, actor)

    @event_handler("verification", "RegistrationConfirmed", requeue_on_error=True)
    def handle_registration_confirmed(self, message: dict) -> None:
        """Open the form prefilled from the roster."""
        deps, meta = self.deps, commands.consumer_meta(message)
        consume(self.store, "handle_registration_confirmed", message, RegistrationConfirmed,
                lambda event, key: commands.open_form(deps, event.nip, event.instansi_kode, event.roster,
                                                      event.email, meta, key))

    @event_handler("verification", "SubmissionReturned", requeue_on_error=True)
    def handle_submission_returned(self, message: dict) -> None:
        """Reopen the form for edits, with the verifier's notes."""
        deps, meta = self.deps, commands.consumer_meta(message)
        consume(self.store, "handle_submission_returned", message, SubmissionReturned,
                lambda event, key: commands.return_form(deps, event.nip, event.notes, meta, key))

    @event_handler("verification", "SubmissionApproved", requeue_on_error=True)
    def handle_submission_approved(self, message: dict) -> None:
        """Mark the form verified."""
        deps, meta = self.deps, commands.consumer_meta(message)
        consume(self.store, "handle_submission_approved", message, SubmissionApproved,
                lambda event, key: commands.verify_form(deps, event.nip, meta, key))

    @event_handler("identity", "CampaignScheduled", requeue_on_error=True)
    def handle_campaign_scheduled(self, message: dict) -> None:
        """Keep a copy of the campaign window."""
        # Schedules are ordered by identity's stream version, which is on the envelope (not in the contract).
        deps, meta, source_version = self.deps, commands.consumer_meta(message), message.get("version") or 0
        consume(self.store, "handle_campaign_scheduled", message, CampaignScheduled,
                lambda event, key: commands.observe_campaign(deps, event.opens_at, event.closes_at, source_version,
                                                             meta, key))
