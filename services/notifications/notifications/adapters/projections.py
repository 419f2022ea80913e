"""Read models `contacts` and `emails` (the outbox the retry queue scans), rebuilt by replay, and their queries."""
from __future__ import annotations

from datetime import datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from notifications.domain.email import GIVEN_UP, PENDING, SENT, WAITING
from notifications.settings import Settings
from pupns import projector, retry_queue
from pupns.retry_queue import Backoff, RetryQueue

MAIL_LEASE_SECONDS = 60.0  # longer than one SMTP attempt; a crashed sender's claim expires after it


def epoch(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


class Projector(projector.Projector):
    """Keeps `contacts` (by NIP) and `emails` (by source event id) in step with the log."""

    collections = ("contacts", "emails")

    def __init__(self, db: Database, backoff: Backoff | None = None):
        super().__init__(db)
        # `pupns replay` builds the projector alone: then the configured schedule, as the service has at start.
        self.backoff = backoff or Settings.from_env().mail_backoff
        # While applying (one projector per worker, never shared): each e-mail row's fields and whether to upsert it.
        self._rows: dict[str, tuple[dict, bool]] = {}

    def apply(self, docs: list[dict], session: ClientSession | None = None) -> None:
        """Apply stored events in order, with one write per e-mail row however many of its events they hold (a
        registration's e-mail is queued and sent in one append). Every e-mail event only $sets fields, so the
        fields of its events merged in order are the row the writes one by one would leave."""
        self._rows = {}
        try:
            super().apply(docs, session)
            for email_id, (fields, upsert) in self._rows.items():
                self.db["emails"].update_one({"_id": email_id}, {"$set": fields}, upsert=upsert, session=session)
        finally:
            self._rows = {}

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """A PNS's e-mails in order (their timeline), and the retry loop's e-mails by status: each of its passes asks
        for the waiting and the due ones, which without it is a scan of every e-mail ever sent (845 ms of the local
        store's CPU a pass at 30,000 e-mails, 2 ms with it; the pass runs every 2-8 s)."""
        db["emails"].create_index([("nip", 1), ("queued_at", 1)])
        db["emails"].create_index([("status", 1), ("next_attempt_at", 1)])

    def _set(self, doc: dict, fields: dict, session: ClientSession | None, upsert: bool = False) -> None:
        email_id = doc["stream"].removeprefix("email-")
        # The row carries its stream's version: what the outbox shows matches the log's head.
        merged, upserted = self._rows.get(email_id, ({}, False))
        self._rows[email_id] = ({**merged, **fields, "version": doc["version"]}, upserted or upsert)

    def _on_ContactRecorded(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        row = {"email": doc["data"]["email"], "nama": doc["data"].get("nama"),
               "recorded_at": doc["meta"].get("occurred_at")}
        self.db["contacts"].replace_one({"_id": doc["nip"]}, row, upsert=True, session=session)

    def _on_EmailQueued(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data, at = doc["data"], doc["meta"].get("occurred_at")
        self._set(doc, {
            "nip": doc.get("nip"), "to": data.get("to"), "subject": data["subject"], "body": data["body"],
            "template": data.get("template"), "status": PENDING if data.get("to") else WAITING,
            "attempts": 0, "last_error": None, "queued_at": at, "sent_at": None, **retry_queue.enqueued(epoch(at)),
            # An addressed e-mail is tried at once by the worker that queued it (QueuedEmail.held_by_its_queuer):
            # leased to it from the start, from the event's own time, so a replay writes the same row.
            **({"lease_until": epoch(at) + MAIL_LEASE_SECONDS} if data.get("to") else {}),
        }, session, upsert=True)

    def _on_EmailAddressed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._set(doc, {"to": doc["data"]["to"], "status": PENDING}, session)

    def _on_EmailFailed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        attempt = int(doc["data"]["attempt"])
        next_at = epoch(doc["meta"].get("occurred_at")) + self.backoff.delay(attempt)
        self._set(doc, {"attempts": attempt, "last_error": doc["data"].get("error"),
                        **retry_queue.scheduled(next_at)}, session)

    def _on_EmailSent(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._set(doc, {"status": SENT, "sent_at": doc["meta"].get("occurred_at"), **retry_queue.released()},
                  session)


    def _on_EmailGivenUp(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._set(doc, {"status": GIVEN_UP, "last_error": doc["data"].get("reason"), **retry_queue.released()},
                  session)


class ReadModels:
    """Queries over the notifications read models (the use cases' only view of them)."""

    def __init__(self, db: Database):
        self.db = db
        self.mail_queue = RetryQueue(db["emails"], {"status": PENDING}, MAIL_LEASE_SECONDS)

    def contact(self, nip: str) -> dict | None:
        """The recorded address and name of a PNS."""
        return self.db["contacts"].find_one({"_id": nip})

    def waiting_emails(self, nip: str | None, limit: int = 100) -> list[dict]:
        """E-mails queued before their recipient's contact was known (of one PNS, or of anyone)."""
        return list(self.db["emails"].find({"status": WAITING, **({"nip": nip} if nip else {})}).limit(limit))

    def emails_of(self, nip: str, limit: int = 200) -> list[dict]:
        """A PNS's e-mails without their bodies, oldest first."""
        return list(self.db["emails"].find({"nip": nip}, {"body": 0}).sort("queued_at", 1).limit(limit))
