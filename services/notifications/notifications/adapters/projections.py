"""Read models `contacts` and `emails` (the outbox the retry loop scans), rebuilt by replay."""
from __future__ import annotations

from datetime import datetime

from pymongo.client_session import ClientSession

from notifications.templates import retry_delay
from pupns.replay import TypeDispatchProjector

PENDING, WAITING, SENT = "pending", "waiting_contact", "sent"


def epoch(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


class Projector(TypeDispatchProjector):
    """Keeps `contacts` (by NIP) and `emails` (by source event id) in step with the log."""

    collections: tuple[str, ...] = ("contacts", "emails")

    def _set(self, doc: dict, fields: dict, session: ClientSession | None, upsert: bool = False) -> None:
        email_id = doc["stream"].removeprefix("email-")
        # The stream's version rides along, so the sender appends after it without reading the stream head.
        self.db["emails"].update_one({"_id": email_id}, {"$set": {**fields, "version": doc["version"]}},
                                     upsert=upsert, session=session)

    def _on_ContactRecorded(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        row = {"email": doc["data"]["email"], "nama": doc["data"].get("nama"),
               "recorded_at": doc["meta"].get("occurred_at")}
        self.db["contacts"].replace_one({"_id": doc["nip"]}, row, upsert=True, session=session)

    def _on_EmailQueued(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data, at = doc["data"], doc["meta"].get("occurred_at")
        self._set(doc, {
            "nip": doc.get("nip"), "to": data.get("to"), "subject": data["subject"], "body": data["body"],
            "template": data.get("template"), "status": PENDING if data.get("to") else WAITING,
            "attempts": 0, "last_error": None, "queued_at": at, "sent_at": None,
            "next_attempt_at": epoch(at), "lease_until": 0.0,
        }, session, upsert=True)

    def _on_EmailAddressed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._set(doc, {"to": doc["data"]["to"], "status": PENDING}, session)

    def _on_EmailFailed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        attempt = int(doc["data"]["attempt"])
        self._set(doc, {"attempts": attempt, "last_error": doc["data"].get("error"), "lease_until": 0.0,
                        "next_attempt_at": epoch(doc["meta"].get("occurred_at")) + retry_delay(attempt)}, session)

    def _on_EmailSent(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._set(doc, {"status": SENT, "sent_at": doc["meta"].get("occurred_at"), "lease_until": 0.0}, session)
