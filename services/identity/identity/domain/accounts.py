"""The other aggregates of identity: PNS accounts, staff accounts, the campaign window, and append-only notes."""
from __future__ import annotations

from identity.domain import events as ev
from identity.domain.rules import Account
from pupns.aggregate import Aggregate, DomainError, DomainEvent

ACCOUNT_STREAM = "account-{nip}"
STAFF_STREAM = "staff-{username}"
CAMPAIGN_STREAM = "campaign"
SELUNDUPAN_STREAM = "selundupan-{nip}"
PASSWORD_STREAM = "password-{username}"  # hash upgrades (PasswordRehashed), off the timeline
FORM_ANOMALIES_STREAM = "form-anomalies-{nip}"
REMINDER_STREAM = "reminder-{nip}"
ERASURE_STREAM = "erasure-{nip}"  # RecordErased: a PNS's personal data erased by an administrator


class PnsAccount(Aggregate):
    """A PNS's account (`account-{nip}`): registration, the verifier's decision, the form state after it."""

    EVENTS = (ev.RegistrationSubmitted, ev.AccountActivated, ev.AccountRejected, ev.AccountStatusChanged)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip = id
        self.status: str | None = None  # None: never registered
        self.form_status: str | None = None
        self.form_status_since: str | None = None  # when the cause of the current form status happened
        self.instansi_kode: str | None = None

    @property
    def blocks_registration(self) -> bool:
        return self.status is not None and Account(self.nip, self.status, self.form_status).blocks_registration

    def submit_registration(self, event: ev.RegistrationSubmitted) -> None:
        if self.blocks_registration:
            raise DomainError("already_registered")
        self.trigger(event)

    def activate(self, registration_number: str | None) -> None:
        if self.status == "pending_confirmation":
            self.trigger(ev.AccountActivated(registration_number))

    def reject(self, reason: str | None) -> None:
        if self.status == "pending_confirmation":
            self.trigger(ev.AccountRejected(reason))

    def change_form_status(self, status: str, note: str | None = None, since: str | None = None) -> None:
        """Only an active account follows its form (an event about a superseded registration changes nothing).

        `since` is when the cause happened (its event's occurred_at). Causes come from two services and two
        streams (forms' submission, verification's decision) and replicas may apply them in either order: a cause
        older than the one the status already shows is late news and changes nothing (an approval applied before
        its own submission must stay `verified`)."""
        if self.status != "active":
            return
        if since and self.form_status_since and since < self.form_status_since:
            return
        self.trigger(ev.AccountStatusChanged(status, note, since))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ev.RegistrationSubmitted):
            self.status, self.form_status, self.instansi_kode = "pending_confirmation", None, event.instansi_kode
        elif isinstance(event, ev.AccountActivated):
            self.status, self.form_status = "active", "draft"
        elif isinstance(event, ev.AccountRejected):
            self.status = "rejected"
        elif isinstance(event, ev.AccountStatusChanged):
            self.form_status = event.status
            self.form_status_since = event.since or self.form_status_since


class StaffAccount(Aggregate):
    """An administrator or verifier account (`staff-{username}`), enabled or disabled."""

    EVENTS = (ev.StaffAccountCreated, ev.StaffAccountDisabled, ev.StaffAccountEnabled, ev.StaffPasswordChanged)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.exists = False
        self.instansi_kode: str | None = None
        self.active = False

    def create(self, role: str, instansi_kode: str | None, password_hash: str) -> None:
        if self.exists or self.version:
            raise DomainError("conflict")
        self.trigger(ev.StaffAccountCreated(self.id, role, instansi_kode, password_hash))

    def set_active(self, active: bool, reason: str) -> None:
        """Record the change; an account already so records nothing."""
        if not self.exists:
            raise DomainError("not_found")
        if self.active != active:
            event_class = ev.StaffAccountEnabled if active else ev.StaffAccountDisabled
            self.trigger(event_class(self.id, reason))

    def change_password(self, password_hash: str, reset: bool = False) -> None:
        """Record a new (sealed) password hash: by its owner, or set by an administrator (`reset`, also while the
        account is disabled, so that it comes back with a password nobody else knows)."""
        if not self.exists:
            raise DomainError("not_found")
        if not reset and not self.active:
            raise DomainError("forbidden")
        self.trigger(ev.StaffPasswordChanged(self.id, password_hash, reset))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ev.StaffAccountCreated):
            self.exists, self.active, self.instansi_kode = True, True, event.instansi_kode
        elif isinstance(event, ev.StaffAccountDisabled):
            self.active = False
        elif isinstance(event, ev.StaffAccountEnabled):
            self.active = True


class Campaign(Aggregate):
    """The one campaign window (`campaign`): scheduled, moved, closed."""

    EVENTS = (ev.CampaignScheduled, ev.CampaignClosed)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.window: dict[str, str] | None = None
        self.closed_for: str | None = None  # the `closes_at` the last close was recorded for

    def schedule(self, opens_at: str, closes_at: str) -> None:
        self.trigger(ev.CampaignScheduled(opens_at, closes_at))

    def close(self, closes_at: str, by_deadline: bool = False) -> None:
        """Record a close; the deadline's clock records nothing when this window was closed already (every
        administrator's close is recorded: it is the audited action)."""
        if by_deadline and self.closed_for == closes_at:
            return
        self.trigger(ev.CampaignClosed(closes_at))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ev.CampaignScheduled):
            self.window = {"opens_at": event.opens_at, "closes_at": event.closes_at}
            self.closed_for = None
        elif isinstance(event, ev.CampaignClosed):
            self.closed_for = event.closes_at


class ErasureRecord(Aggregate):
    """The erasures of one PNS's personal data (`erasure-{nip}`); the keys themselves go in the key store."""

    EVENTS = (ev.RecordErased,)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip = id
        self.instansi_kode: str | None = None
        self.erasures = 0

    def erase(self, reason: str, instansi_kode: str | None) -> None:
        self.instansi_kode = instansi_kode  # what the stored event is filed under
        self.trigger(ev.RecordErased(reason))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ev.RecordErased):
            self.erasures += 1


class Journal(Aggregate):
    """A stream of notes with no rule between them (every note is kept); subclasses name the events."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip: str | None = None
        self.instansi_kode: str | None = None
        self.notes: list[DomainEvent] = []

    def note(self, event: DomainEvent, nip: str | None = None, instansi_kode: str | None = None) -> None:
        """Keep `event`; `nip` / `instansi_kode` are what the stored event is filed under."""
        self.nip, self.instansi_kode = nip, instansi_kode
        self.trigger(event)

    def apply(self, event: DomainEvent) -> None:
        self.notes.append(event)


class SelundupanCandidate(Journal):
    """Registration attempts for a NIP outside the roster (`selundupan-{nip}`)."""

    EVENTS = (ev.UnknownNipAttempted,)


class PasswordHistory(Journal):
    """Password hash upgrades of one user (`password-{username}`)."""

    EVENTS = (ev.PasswordRehashed,)


class FormAnomalyNotes(Journal):
    """The anomaly codes of each submitted form of one PNS (`form-anomalies-{nip}`)."""

    EVENTS = (ev.FormAnomaliesNoted,)


class StampingNotes(Journal):
    """documents' e-Meterai progress on one PNS's statements (`stamping-{nip}`)."""

    EVENTS = (ev.StampingNoted,)

    @property
    def noted(self) -> list[dict]:
        """The notes as stored documents' data, as `stamping.stamping_note` reads them."""
        return [{"data": n.to_data()} for n in self.notes]
