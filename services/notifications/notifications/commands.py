"""Use cases: record contacts, queue e-mails for upstream events, deliver and retry them."""
from __future__ import annotations

import logging
import time
from typing import Protocol

from notifications import templates
from notifications.mailer import DeliveryFailed
from notifications.projections import PENDING, WAITING, Projector
from notifications.templates import Email
from pupns import auth, config
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent, StreamAppend

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0  # longer than one SMTP attempt; a crashed sender's claim expires after it


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str, message_id: str) -> None: ...


def _system_meta(message: dict) -> dict:
    return {"actor": "system", "role": "system", "correlation_id": message["event_id"]}


class Notifications:
    """The notifications use cases over one EventStore and one mail sender."""

    def __init__(self, store: EventStore, sender: Sender):
        self.store, self.sender = store, sender
        self.projector = Projector(store.db)
        self.contacts, self.emails = store.db["contacts"], store.db["emails"]

    # -- upstream events -------------------------------------------------------------------------
    def on_registration_submitted(self, message: dict, dedupe_key: str) -> None:
        data = message["data"]
        number = data["registration_number"]
        receipt_url = f"{config.public_base_url()}/api/v1/receipts/{number}.pdf?sig={auth.sign_receipt(number)}"
        # The contact and the first e-mail land in one transaction, with the dedupe key.
        email = templates.registration_received(data.get("nama"), number, receipt_url)
        contact = f"contact-{message['nip']}"
        parts = [self._queued(message, email, data["email"]),
                 StreamAppend(contact, self.store.stream_version(contact),
                              [NewEvent("ContactRecorded", {"email": data["email"], "nama": data.get("nama")})],
                              message["nip"], message.get("instansi_kode"))]
        self.store.append_many(parts, _system_meta(message), idempotency_key=dedupe_key,
                               projection=self.projector.apply)
        self.resolve_waiting(message["nip"])
        self.deliver(message["event_id"])

    def on_verification_event(self, message: dict) -> None:
        data, contact = message["data"], self.contacts.find_one({"_id": message["nip"]}) or {}
        nama = data.get("nama") or contact.get("nama")
        number = data.get("registration_number", "")
        email = {
            "RegistrationConfirmed": lambda: templates.registration_confirmed(nama, number,
                                                                              f"{config.public_base_url()}/"),
            "RegistrationRejected": lambda: templates.registration_rejected(nama, number, data.get("reason", "")),
            "SubmissionApproved": lambda: templates.submission_approved(nama),
            "SubmissionReturned": lambda: templates.submission_returned(nama, data.get("notes") or {}),
        }[message["type"]]()
        # No address yet (events crossed): the e-mail waits, addressed when ContactRecorded arrives.
        self.queue(message, email, contact.get("email"))
        self.deliver(message["event_id"])

    def on_identity_event(self, message: dict, dedupe_key: str) -> None:
        """Deadline reminders and the sanction and its lifting, for a PNS whose address is known."""
        data, contact = message["data"], self.contacts.find_one({"_id": message["nip"]})
        if not contact:  # never registered: the platform has no address to write to
            self.store.remember(dedupe_key, None)
            return
        email = {
            "ReminderDue": lambda: templates.deadline_reminder(contact.get("nama"), data["closes_at"]),
            "MarkedNotReregistered": lambda: templates.not_reregistered(contact.get("nama"), data["closes_at"]),
            "Reinstated": lambda: templates.reinstated(contact.get("nama"), data.get("reason", "")),
        }[message["type"]]()
        self.queue(message, email, contact["email"])
        self.store.remember(dedupe_key, None)
        self.deliver(message["event_id"])

    # -- writing -------------------------------------------------------------------------------------
    @staticmethod
    def _queued(message: dict, email: Email, to: str | None) -> StreamAppend:
        event = NewEvent("EmailQueued", {"to": to, "subject": email.subject, "body": email.body,
                                         "template": email.template})
        return StreamAppend(f"email-{message['event_id']}", 0, [event], message.get("nip"),
                            message.get("instansi_kode"))

    def queue(self, message: dict, email: Email, to: str | None) -> bool:
        """EmailQueued on `email-{source event id}` at version 0; a redelivered source is a no-op."""
        try:
            self.store.append_many([self._queued(message, email, to)], _system_meta(message),
                                   projection=self.projector.apply)
        except ConcurrencyError:
            return False
        return True

    def resolve_waiting(self, nip: str | None = None) -> int:
        """Address e-mails that were queued before their recipient's contact was known."""
        query = {"status": WAITING, **({"nip": nip} if nip else {})}
        resolved = 0
        for row in list(self.emails.find(query).limit(100)):
            contact = self.contacts.find_one({"_id": row["nip"]})
            if not contact:
                continue
            stream = f"email-{row['_id']}"
            try:
                self.store.append(stream, self.store.stream_version(stream),
                                  [NewEvent("EmailAddressed", {"to": contact["email"]})],
                                  {"actor": "system", "role": "system", "correlation_id": row["_id"]},
                                  nip=row["nip"], projection=self.projector.apply)
                resolved += 1
            except ConcurrencyError:
                pass  # addressed concurrently
        return resolved

    # -- reading --------------------------------------------------------------------------------------
    def emails_of(self, nip: str) -> list[dict]:
        """The PNS's e-mails for their timeline: each sent, still being retried, or waiting for an address."""
        rows = self.emails.find({"nip": nip}, {"body": 0}).sort("queued_at", 1).limit(200)
        return [{"queued_at": row.get("queued_at"), "sent_at": row.get("sent_at"), "status": row.get("status"),
                 "attempts": row.get("attempts", 0), "subject": row.get("subject"), "template": row.get("template")}
                for row in rows]

    # -- delivery -----------------------------------------------------------------------------------
    def _claim(self, email_id: str, now: float) -> dict | None:
        return self.emails.find_one_and_update(
            {"_id": email_id, "status": PENDING, "next_attempt_at": {"$lte": now}, "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + LEASE_SECONDS}})

    def deliver(self, email_id: str) -> bool | None:
        """Try one e-mail if it is due and nobody else holds it; records EmailSent or EmailFailed."""
        row = self._claim(email_id, time.time())
        if row is None:
            return None
        stream = f"email-{email_id}"
        meta = {"actor": "system", "role": "system", "correlation_id": email_id}
        try:
            self.sender.send(row["to"], row["subject"], row["body"], email_id)
        except DeliveryFailed as exc:
            log.warning("e-mail %s not delivered (attempt %s): %s", email_id, row["attempts"] + 1, exc)
            event = NewEvent("EmailFailed", {"attempt": row["attempts"] + 1, "error": str(exc)[:500]})
            self.store.append(stream, self._version(row), [event], meta, nip=row.get("nip"),
                              projection=self.projector.apply)
            return False
        self.store.append(stream, self._version(row), [NewEvent("EmailSent", {})], meta,
                          nip=row.get("nip"), projection=self.projector.apply)
        return True

    def _version(self, row: dict) -> int:
        """The e-mail stream's version as its read model row knows it (rows from before it was kept: read it)."""
        return row.get("version") or self.store.stream_version(f"email-{row['_id']}")

    def deliver_due(self, limit: int = 50) -> int:
        """One pass of the retry loop: address waiting e-mails, then try every due one."""
        self.resolve_waiting()
        now = time.time()
        due = self.emails.find({"status": PENDING, "next_attempt_at": {"$lte": now}, "lease_until": {"$lt": now}},
                               {"_id": 1}).sort("next_attempt_at", 1).limit(limit)
        return sum(1 for row in list(due) if self.deliver(row["_id"]))
