"""Use cases: record contacts, queue e-mails for upstream events, deliver and retry them."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

from notifications.adapters.mailer import DeliveryFailed
from notifications.adapters.projections import Projector, ReadModels
from notifications.domain import templates
from notifications.domain.email import RECIPIENT_ERASED, QueuedEmail, stream_of
from notifications.domain.events import ContactRecorded
from notifications.domain.templates import Email
from notifications.settings import Settings
from pupns import auth
from pupns.contracts.identity import MarkedNotReregistered, RegistrationSubmitted, Reinstated, ReminderDue
from pupns.contracts.verification import (
    RegistrationConfirmed,
    RegistrationRejected,
    SubmissionApproved,
    SubmissionReturned,
)
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, StreamAppend
from pupns.personal import ERASED, FieldCodec, open_fields
from pupns.repository import Repository, new_event

log = logging.getLogger(__name__)
IdentityEvent = ReminderDue | MarkedNotReregistered | Reinstated
VerificationEvent = RegistrationConfirmed | RegistrationRejected | SubmissionApproved | SubmissionReturned
WAITING_HINTS_MAX = 10_000  # NIPs remembered as having a decision waiting here; past it the retry loop finds them


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str, message_id: str) -> None: ...


def _system_meta(correlation_id: str) -> dict:
    return {"actor": "system", "role": "system", "correlation_id": correlation_id}


def stored(email: QueuedEmail, docs: list[dict]) -> QueuedEmail:
    """The e-mail at the version (and chain link) its just-appended events gave its stream."""
    last = [doc for doc in docs if doc["stream"] == stream_of(email.id)][-1]
    email.version, email.head_hash, email.head_position = last["version"], last["hash"], last["position"]
    email.pending = []
    return email


def first_try(email: QueuedEmail) -> dict:
    """The outbox row of an e-mail this worker has just queued, as its first try reads it (no claim, no read)."""
    return {"nip": email.nip, "to": email.to, "body": email.body, "subject": email.subject, "attempts": 0}


class Notifications:
    """The notifications use cases over one EventStore and one mail sender.

    Addresses and bodies are sealed with the PNS's data key before their event is appended; they are opened
    only at the SMTP hand-off and, for the address, in the PNS's own list of e-mails (`emails_of`)."""

    def __init__(self, store: EventStore, sender: Sender, settings: Settings, codec: FieldCodec,
                 waiting_here: set[str] | None = None):
        self.store, self.sender, self.settings, self.codec = store, sender, settings, codec
        self.projector = Projector(store.db, settings.mail_backoff)
        self.read = ReadModels(store.db)
        # Later events of an e-mail carry only the NIP on their envelope, as they always have.
        self.emails = Repository(store, QueuedEmail, stream_of, projector=self.projector.apply,
                                 instansi_of=lambda email: None)
        # NIPs whose decision e-mail this process queued waiting for their contact (see on_verification_event): the
        # service passes one set for the process, as it makes a Notifications per message
        self.waiting_here = set() if waiting_here is None else waiting_here

    # -- upstream events -------------------------------------------------------------------------
    def on_registration_submitted(self, registration: RegistrationSubmitted, dedupe_key: str) -> None:
        """Try 'Pendaftaran PUPNS diterima' at once, then record the contact, the e-mail and that first try's
        outcome in one transaction (a failed try is retried by the retry loop, as any e-mail's)."""
        if self.store.recall(dedupe_key):  # a copy published again: its e-mail went out (or is queued) already
            raise AlreadyApplied(dedupe_key)
        nip, number = registration.nip, registration.registration_number
        receipt_url = f"{self.settings.public_base_url}/api/v1/receipts/{number}.pdf?sig={auth.sign_receipt(number)}"
        address = self._seal(nip, registration.email)
        email = self._new_email(registration.event_id, nip,
                                templates.registration_received(registration.nama, number, receipt_url), address)
        # Sent before it is stored, so that its outcome needs no transaction of its own (a registration's e-mail
        # cost two). A crash, or a store that fails, between the hand-off and the commit sends it again when the
        # registration is redelivered: with the same Message-ID, as a crash after any hand-off always could.
        _, record = self._try(email.id, first_try(email))
        record(email)
        self._record_contact(registration, email, address, dedupe_key)
        # A verifier's decision that overtook this registration in this process (its e-mail queued waiting for this
        # contact, the likelier as the contact lands only after this e-mail's hand-off) is addressed and tried now.
        # Known from memory, not from a query every registration would pay for; one queued by another replica is
        # found by the retry loop's next pass, up to 8 s later.
        if nip in self.waiting_here:
            self._send_waiting(nip)

    def _record_contact(self, registration: RegistrationSubmitted, email: QueuedEmail, address: str | None,
                        dedupe_key: str) -> None:
        """The contact and the registration's e-mail in one transaction, with the dedupe key. A contact is new but
        for a re-registration after an erasure: tried as new first, which costs no read."""
        nip, instansi_kode, contact = registration.nip, registration.instansi_kode, f"contact-{registration.nip}"
        for contact_version in (0, None):
            parts = [StreamAppend(stream_of(email.id), 0, [new_event(e) for e in email.pending], nip,
                                  instansi_kode),
                     StreamAppend(contact, self.store.stream_version(contact) if contact_version is None else 0,
                                  [new_event(ContactRecorded(address, registration.nama))], nip, instansi_kode)]
            try:
                self.store.append_many(parts, _system_meta(registration.event_id), idempotency_key=dedupe_key,
                                       projection=self.projector.apply)
                return
            except ConcurrencyError:
                if contact_version is None:
                    raise

    def on_verification_event(self, event: VerificationEvent, dedupe_key: str) -> None:
        """Tell the PNS of a verifier's decision; without an address yet (events crossed) the e-mail waits."""
        contact = self.read.contact(event.nip) or {}
        address = contact.get("email")
        if not address:
            # Noted before the e-mail is queued, and the contact read again after: a registration recording the
            # contact meanwhile either sees the note or is seen by that read (on_registration_submitted).
            self._note_waiting(event.nip)
        nama = getattr(event, "nama", None) or contact.get("nama")
        queued = self.queue(event.event_id, event.nip, event.instansi_kode, self._decision_email(event, nama),
                            address, dedupe_key)
        if not address and self.read.contact(event.nip):
            self._send_waiting(event.nip)
            return
        self.deliver(event.event_id, queued)

    def _note_waiting(self, nip: str) -> None:
        if len(self.waiting_here) >= WAITING_HINTS_MAX:
            self.waiting_here.clear()  # the retry loop addresses what was forgotten
        self.waiting_here.add(nip)

    def _send_waiting(self, nip: str) -> None:
        """Address and try the e-mails waiting for this PNS's contact, now that it is recorded."""
        self.waiting_here.discard(nip)
        for email_id in self.resolve_waiting(nip):
            self.deliver(email_id)

    def _decision_email(self, event: VerificationEvent, nama: str | None) -> Email:
        if isinstance(event, RegistrationConfirmed):
            return templates.registration_confirmed(nama, event.registration_number,
                                                    f"{self.settings.public_base_url}/")
        if isinstance(event, RegistrationRejected):
            return templates.registration_rejected(nama, event.registration_number, event.reason)
        if isinstance(event, SubmissionApproved):
            return templates.submission_approved(nama)
        return templates.submission_returned(nama, event.notes)

    def on_identity_event(self, event: IdentityEvent, dedupe_key: str) -> None:
        """Deadline reminders and the sanction and its lifting, for a PNS whose address is known."""
        contact = self.read.contact(event.nip)
        if not contact:  # never registered: the platform has no address to write to
            self.store.remember(dedupe_key, None)
            return
        email = self._status_email(event, contact.get("nama"))
        queued = self.queue(event.event_id, event.nip, event.instansi_kode, email, contact["email"], dedupe_key)
        if queued is None:
            self.store.remember(dedupe_key, None)  # queued before (under no key): this copy is done too
        self.deliver(event.event_id, queued)

    @staticmethod
    def _status_email(event: IdentityEvent, nama: str | None) -> Email:
        if isinstance(event, ReminderDue):
            return templates.deadline_reminder(nama, event.closes_at)
        if isinstance(event, MarkedNotReregistered):
            return templates.not_reregistered(nama, event.closes_at)
        return templates.reinstated(nama, event.reason)

    # -- writing -------------------------------------------------------------------------------------
    def _seal(self, nip: str | None, value: str | None) -> str | None:
        # Without a NIP there is no PNS key to seal with (never the case for upstream events today).
        return self.codec.seal(nip, value) if nip else value

    def _new_email(self, source_id: str, nip: str | None, email: Email, to: str | None) -> QueuedEmail:
        """The queued e-mail with its address and body sealed (bodies may quote a verifier's note, a name...);
        an address already sealed (copied from the contact) stays as it is."""
        queued = QueuedEmail(source_id)  # version 0: a second one for the same source conflicts
        queued.queue(nip, dataclasses.replace(email, body=self._seal(nip, email.body)), self._seal(nip, to))
        return queued

    def queue(self, source_id: str, nip: str | None, instansi_kode: str | None, email: Email, to: str | None,
              dedupe_key: str | None = None) -> QueuedEmail | None:
        """EmailQueued on `email-{source event id}` at version 0, the e-mail as stored; a redelivered source is a
        no-op (None)."""
        queued = self._new_email(source_id, nip, email, to)
        try:
            docs = self.store.append(stream_of(queued.id), 0, [new_event(e) for e in queued.pending],
                                     _system_meta(source_id), nip=nip, instansi_kode=instansi_kode,
                                     idempotency_key=dedupe_key, projection=self.projector.apply)
        except ConcurrencyError:
            return None
        return stored(queued, docs)

    def resolve_waiting(self, nip: str | None = None) -> list[str]:
        """Address e-mails that were queued before their recipient's contact was known; returns their ids."""
        resolved = []
        for row in self.read.waiting_emails(nip):
            contact = self.read.contact(row["nip"])
            if not contact:
                continue
            try:
                to = self._seal(row["nip"], contact["email"])
                if self.emails.run(row["_id"], lambda email, to=to: email.address(to), _system_meta(row["_id"])):
                    resolved.append(row["_id"])
            except ConcurrencyError:
                pass  # addressed concurrently
        return resolved

    # -- reading --------------------------------------------------------------------------------------
    def emails_of(self, nip: str) -> list[dict]:
        """The PNS's e-mails for their timeline: each sent, still being retried, waiting for an address or given
        up, with the address opened (erased: null and `_erased` true)."""
        rows = [{"queued_at": row.get("queued_at"), "sent_at": row.get("sent_at"), "status": row.get("status"),
                 "attempts": row.get("attempts", 0), "subject": row.get("subject"), "template": row.get("template"),
                 "to": row.get("to")} for row in self.read.emails_of(nip)]
        return open_fields(self.codec, nip, rows)

    # -- delivery -----------------------------------------------------------------------------------
    def deliver(self, email_id: str, known: QueuedEmail | None = None) -> bool | None:
        """Try one e-mail if it is due and nobody else holds it; records EmailSent or EmailFailed. `known`: the
        e-mail as this worker just stored it (its outcome is then appended without reading its stream)."""
        if known is not None and known.held_by_its_queuer:  # leased to this worker when it was queued: no claim
            row = first_try(known)
        else:
            row = self.read.mail_queue.claim(email_id)
        if row is None:
            return None
        went, record = self._try(email_id, row)
        self._record(email_id, record, known)
        return went

    def _try(self, email_id: str, row: dict) -> tuple[bool, Callable[[QueuedEmail], None]]:
        """Hand one e-mail (its outbox row, address and body sealed) to the SMTP server: whether it went, and the
        command that records the outcome on the e-mail."""
        to, body = (self.codec.open_(row.get("nip"), row[name]) for name in ("to", "body"))
        if to is ERASED or body is ERASED:  # never readable again: give up now rather than retry for ever
            log.warning("e-mail %s given up: its recipient's personal data was erased", email_id)
            return False, lambda email: email.give_up(RECIPIENT_ERASED)
        try:
            self.sender.send(to, row["subject"], body, email_id)
        except DeliveryFailed as exc:
            # SMTP errors may quote the recipient (a refused address): the log and the event keep it out.
            error = str(exc).replace(to, "<penerima>") if to else str(exc)
            log.warning("e-mail %s not delivered (attempt %s): %s", email_id, row["attempts"] + 1, error)
            return False, lambda email, error=error: email.fail(error)
        return True, QueuedEmail.sent

    def _record(self, email_id: str, command: Callable[[QueuedEmail], None], known: QueuedEmail | None = None) -> None:
        if known is not None:
            command(known)
            try:
                self.emails.save(known, _system_meta(email_id))
                return
            except ConcurrencyError:
                pass  # it moved since this worker stored it (addressed, say): decide again on its current state
        self.emails.run(email_id, command, _system_meta(email_id))

    def deliver_due(self, limit: int = 50) -> int:
        """One pass of the retry loop: address waiting e-mails, then try every due one; returns how many it
        addressed or tried (0: nothing to do)."""
        resolved = len(self.resolve_waiting())
        return resolved + sum(1 for outcome in self.read.mail_queue.drain(self.deliver, limit) if outcome is not None)
