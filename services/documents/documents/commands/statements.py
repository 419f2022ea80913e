"""Use cases of the Surat Pernyataan: issue one per submission, stamp it with e-Meterai, retry, read it.

The submission (forms) is never touched: this runs after forms.FormSubmitted was stored, and an e-Meterai
outage only delays the stamp. Every attempt is an event (`StampFailed` / `StatementStamped`) on the
statement's stream, so the PNS and an auditor can see the state and its history.
"""
from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Protocol

from documents.adapters import pdf
from documents.adapters.blobs import BlobStore
from documents.adapters.meterai import Stamp, StampFailure
from documents.adapters.projections import Projector, ReadModels
from documents.domain import statement as rules
from documents.domain.statement import Statement
from documents.domain.uploads import can_read
from documents.settings import Settings
from pupns.actors import Actor
from pupns.contracts.forms import FormSubmitted
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError, EventStore
from pupns.personal import ERASED, FieldCodec
from pupns.repository import Repository

log = logging.getLogger(__name__)


class Stamper(Protocol):
    def stamp(self, pdf: bytes, reference: str) -> Stamp: ...


def _meta(statement_id: str) -> dict:
    return {"actor": "system", "role": "system", "correlation_id": statement_id}


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else None


class Statements:
    """The statement use cases over one EventStore and one e-Meterai provider client."""

    def __init__(self, store: EventStore, meterai: Stamper, settings: Settings, codec: FieldCodec):
        self.meterai, self.settings = meterai, settings
        self.blobs = BlobStore(store.db, codec)  # the PDFs are sealed per PNS like uploads
        self.read = ReadModels(store.db)
        self.repository = Repository(store, Statement, rules.stream_of, projector=Projector(store.db).apply)

    def on_form_submitted(self, submission: FormSubmitted, dedupe_key: str) -> None:
        """Render and record the statement plus its stamp request, once per FormSubmitted event (its id is the
        statement's)."""
        statement = self.repository.get(submission.event_id)
        if statement.version:
            return  # issued already (a redelivery under another dedupe key): one statement per submission
        facts = {"nip": submission.nip, "nama": submission.nama, "sections": submission.sections,
                 "instansi_kode": submission.instansi_kode, "submitted_at": submission.submitted_at,
                 "data_sha256": rules.data_digest(submission.sections)}
        content = pdf.render_statement(facts)
        digest = self.blobs.put(submission.nip, content)  # bytes first: the event below refers to them
        statement.issue(submission.nip, submission.instansi_kode, submission.submitted_at, facts["data_sha256"],
                        digest, len(content))
        try:
            self.repository.save(statement, _meta(statement.id), idempotency_key=dedupe_key)
        except ConcurrencyError:
            pass  # a duplicate delivery of the same submission recorded it concurrently: one statement

    # -- stamping ------------------------------------------------------------------------------------
    def attempt(self, statement_id: str) -> str | None:
        """Try to stamp one statement if it is due and nobody else holds it.

        Returns "stamped", "failed" (retryable), "rejected" (the provider refused) or None (not due / held).
        """
        row = self.read.stamp_queue.claim(statement_id)
        if row is None:
            return None
        content = self.blobs.get(row["nip"], row["sha256"])
        if content is ERASED:  # the PNS's data was erased: nothing left to stamp, and no retrying for ever
            self.repository.run(statement_id, lambda s: s.abandon(rules.ERASED_REASON), _meta(statement_id))
            log.warning("e-Meterai: statement %s abandoned, its owner's personal data was erased", statement_id)
            return "abandoned"
        try:
            stamp = self.meterai.stamp(content, reference=statement_id)
        except StampFailure as exc:
            return self._failed(statement_id, row["attempts"] + 1, exc)
        digest = self.blobs.put(row["nip"], stamp.pdf)
        self.repository.run(statement_id, lambda s: s.stamp(stamp.serial, digest, len(stamp.pdf)),
                            _meta(statement_id))
        return "stamped"

    def _failed(self, statement_id: str, attempt: int, failure: StampFailure) -> str:
        delay = self.repository.run(
            statement_id, lambda s: s.fail(failure.reason, failure.retryable, self.settings.stamp_backoff),
            _meta(statement_id))
        (log.warning if failure.retryable else log.error)(
            "e-Meterai: statement %s not stamped (attempt %s, next in %ss): %s",
            statement_id, attempt, delay, failure.reason)
        return "failed" if failure.retryable else "rejected"

    def stamp_due(self, limit: int = 20) -> int:
        """One pass of the retry loop, oldest due first; returns how many it tried (0: nothing was due).

        After a retryable failure the pass stops: while the provider is down, each pass sends it one
        probe instead of the whole backlog; the rest follow as soon as a probe succeeds.
        """
        outcomes = self.read.stamp_queue.drain(self.attempt, limit, stop=lambda outcome: outcome == "failed")
        return sum(1 for outcome in outcomes if outcome is not None)

    # -- reading -------------------------------------------------------------------------------------
    def get_statement(self, nip: str, actor: Actor) -> dict:
        """The latest statement of a PNS with its stamping state and PDF (stamped once it is)."""
        row = self.read.latest_statement(nip)
        if row is None:
            raise AppError("not_found", "Surat pernyataan belum tersedia.")
        can_read(row, actor)
        stamped = row["state"] == rules.STAMPED
        digest = row["stamped_sha256"] if stamped else row["sha256"]
        content = self.blobs.get(nip, digest)
        if content is ERASED:
            raise AppError("not_found", "Surat pernyataan ini telah dihapus bersama data pribadi pemiliknya.")
        result = {
            "statement_id": row["_id"], "nip": nip, "state": row["state"], "stamped": stamped,
            "note": rules.NOTES.get(row["state"]), "submitted_at": row["submitted_at"],
            "issued_at": row["issued_at"], "stamped_at": row["stamped_at"], "stamp_serial": row["stamp_serial"],
            "attempts": row["attempts"], "next_attempt_at": None if stamped else _iso(row["next_attempt_at"]),
            "content_type": "application/pdf", "filename": f"surat-pernyataan-{nip}.pdf", "sha256": digest,
            "content_b64": base64.b64encode(content).decode("ascii"),
        }
        if (actor or {}).get("role") in ("admin", "verifier"):
            result["last_error"] = row["last_error"]
        return result
