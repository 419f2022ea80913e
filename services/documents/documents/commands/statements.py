"""Use cases of the Surat Pernyataan: issue one per submission, stamp it with e-Meterai, retry, read it.

The submission (forms) is never touched: this runs after forms.FormSubmitted was stored, and an e-Meterai
outage only delays the stamp. Every attempt is an event (`StampFailed` / `StatementStamped`) on the
statement's stream, so the PNS and an auditor can see the state and its history.
"""
from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from typing import Protocol

from documents import domain, pdf
from documents import statement_rules as rules
from documents.blobs import BlobStore
from documents.meterai import Stamp, StampFailure
from documents.projections import Projector
from pupns.actors import Actor
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0  # longer than one provider call; a crashed worker's claim expires after it
PENDING_STATES = (rules.REQUESTED, rules.RETRYING)


class Stamper(Protocol):
    def stamp(self, pdf: bytes, reference: str) -> Stamp: ...


def _meta(statement_id: str) -> dict:
    return {"actor": "system", "role": "system", "correlation_id": statement_id}


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else None


class Statements:
    """The statement use cases over one EventStore and one e-Meterai provider client."""

    def __init__(self, store: EventStore, meterai: Stamper):
        self.store, self.meterai = store, meterai
        self.blobs = BlobStore(store.db)
        self.projector = Projector(store.db)
        self.rows = store.db["statements"]

    def on_form_submitted(self, message: dict, dedupe_key: str) -> None:
        """Render and record the statement plus its stamp request, once per FormSubmitted event."""
        data, statement_id = message["data"], message["event_id"]
        facts = {"nip": message["nip"], "nama": data.get("nama"), "sections": data.get("sections") or {},
                 "instansi_kode": data.get("instansi_kode") or message.get("instansi_kode"),
                 "submitted_at": data.get("submitted_at") or message.get("occurred_at")}
        facts["data_sha256"] = rules.data_digest(facts["sections"])
        content = pdf.render_statement(facts)
        digest = self.blobs.put(content)  # bytes first: the event below refers to them
        events = [NewEvent("StatementIssued", {"statement_id": statement_id, "submitted_at": facts["submitted_at"],
                                               "data_sha256": facts["data_sha256"], "sha256": digest,
                                               "size": len(content)}),
                  NewEvent("StampRequested", {"statement_id": statement_id, "sha256": digest})]
        try:
            self.store.append(rules.stream_of(statement_id), 0, events, _meta(statement_id), nip=message["nip"],
                              instansi_kode=facts["instansi_kode"], idempotency_key=dedupe_key,
                              projection=self.projector.apply)
        except ConcurrencyError:
            pass  # a duplicate delivery of the same submission recorded it concurrently: one statement

    # -- stamping ------------------------------------------------------------------------------------
    def _claim(self, statement_id: str, now: float) -> dict | None:
        return self.rows.find_one_and_update(
            {"_id": statement_id, "state": {"$in": PENDING_STATES}, "next_attempt_at": {"$lte": now},
             "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + LEASE_SECONDS}})

    def _record(self, row: dict, event: NewEvent) -> None:
        stream = rules.stream_of(row["_id"])
        self.store.append(stream, self.store.stream_version(stream), [event], _meta(row["_id"]), nip=row["nip"],
                          instansi_kode=row.get("instansi_kode"), projection=self.projector.apply)

    def attempt(self, statement_id: str) -> str | None:
        """Try to stamp one statement if it is due and nobody else holds it.

        Returns "stamped", "failed" (retryable), "rejected" (the provider refused) or None (not due / held).
        """
        row = self._claim(statement_id, time.time())
        if row is None:
            return None
        attempt = row["attempts"] + 1
        try:
            stamp = self.meterai.stamp(self.blobs.get(row["sha256"]), reference=statement_id)
        except StampFailure as exc:
            delay = rules.retry_delay(attempt, exc.retryable)
            (log.warning if exc.retryable else log.error)(
                "e-Meterai: statement %s not stamped (attempt %s, next in %ss): %s",
                statement_id, attempt, delay, exc.reason)
            self._record(row, NewEvent("StampFailed", {"statement_id": statement_id, "attempt": attempt,
                                                       "error": exc.reason, "retryable": exc.retryable,
                                                       "retry_in_seconds": delay}))
            return "failed" if exc.retryable else "rejected"
        digest = self.blobs.put(stamp.pdf)
        self._record(row, NewEvent("StatementStamped", {"statement_id": statement_id, "attempt": attempt,
                                                        "stamp_serial": stamp.serial, "sha256": digest,
                                                        "size": len(stamp.pdf)}))
        return "stamped"

    def stamp_due(self, limit: int = 20) -> int:
        """One pass of the retry loop, oldest due first; returns how many got their stamp.

        After a retryable failure the pass stops: while the provider is down, each pass sends it one
        probe instead of the whole backlog; the rest follow as soon as a probe succeeds.
        """
        now = time.time()
        due = self.rows.find({"state": {"$in": PENDING_STATES}, "next_attempt_at": {"$lte": now},
                              "lease_until": {"$lt": now}}, {"_id": 1}).sort("next_attempt_at", 1).limit(limit)
        stamped = 0
        for row in list(due):
            outcome = self.attempt(row["_id"])
            if outcome == "failed":
                break
            stamped += outcome == "stamped"
        return stamped

    # -- reading -------------------------------------------------------------------------------------
    def get_statement(self, nip: str, actor: Actor) -> dict:
        """The latest statement of a PNS with its stamping state and PDF (stamped once it is)."""
        row = self.rows.find_one({"nip": nip}, sort=[("issued_position", -1)])
        if row is None:
            raise AppError("not_found", "Surat pernyataan belum tersedia.")
        domain.can_read(row, actor)
        stamped = row["state"] == rules.STAMPED
        digest = row["stamped_sha256"] if stamped else row["sha256"]
        result = {
            "statement_id": row["_id"], "nip": nip, "state": row["state"], "stamped": stamped,
            "note": rules.NOTES.get(row["state"]), "submitted_at": row["submitted_at"],
            "issued_at": row["issued_at"], "stamped_at": row["stamped_at"], "stamp_serial": row["stamp_serial"],
            "attempts": row["attempts"], "next_attempt_at": None if stamped else _iso(row["next_attempt_at"]),
            "content_type": "application/pdf", "filename": f"surat-pernyataan-{nip}.pdf", "sha256": digest,
            "content_b64": base64.b64encode(self.blobs.get(digest)).decode("ascii"),
        }
        if (actor or {}).get("role") in ("admin", "verifier"):
            result["last_error"] = row["last_error"]
        return result
