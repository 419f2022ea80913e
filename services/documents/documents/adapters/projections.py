"""Read models of the documents service, kept in step with its events (and rebuilt by replay), and their queries."""
from __future__ import annotations

from datetime import datetime

from pymongo.client_session import ClientSession
from pymongo.database import Database

from documents.domain import statement as rules
from pupns import projector, retry_queue
from pupns.retry_queue import RetryQueue

STAMP_LEASE_SECONDS = 60.0  # longer than one provider call; a crashed worker's claim expires after it


def epoch(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


class Projector(projector.Projector):
    """`documents`: metadata per uploaded file; `receipts`: issued receipt per registration number;
    `statements`: each submission's Surat Pernyataan and its stamping state (the retry queue scans it)."""

    collections = ("documents", "receipts", "statements")

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """The retry loop's scan and a PNS's latest statement."""
        db["statements"].create_index([("state", 1), ("next_attempt_at", 1)])
        db["statements"].create_index([("nip", 1), ("issued_position", -1)])

    def _on_DocumentUploaded(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        row = {k: data.get(k) for k in ("kind", "sha256", "size", "content_type", "filename")}
        row.update(nip=doc.get("nip"), instansi_kode=doc.get("instansi_kode"),
                   uploaded_at=doc["meta"].get("occurred_at"))
        self.db["documents"].replace_one({"_id": data["document_id"]}, row, upsert=True, session=session)

    def _on_ReceiptIssued(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        row = {"sha256": data["sha256"], "size": data.get("size"), "nip": doc.get("nip"),
               "issued_at": doc["meta"].get("occurred_at")}
        self.db["receipts"].replace_one({"_id": data["registration_number"]}, row, upsert=True, session=session)

    # -- Surat Pernyataan and its e-Meterai -------------------------------------------------------
    def _statement(self, doc: dict, fields: dict, session: ClientSession | None, upsert: bool = False) -> None:
        statement_id = doc["stream"].removeprefix(rules.STREAM_PREFIX)
        self.db["statements"].update_one({"_id": statement_id}, {"$set": fields}, upsert=upsert, session=session)

    def _on_StatementIssued(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data, at = doc["data"], doc["meta"].get("occurred_at")
        self._statement(doc, {
            "nip": doc.get("nip"), "instansi_kode": doc.get("instansi_kode"), "submitted_at": data["submitted_at"],
            "issued_at": at, "issued_position": doc["position"], "sha256": data["sha256"], "size": data["size"],
            "state": None, "attempts": 0, "last_error": None, "stamp_serial": None, "stamped_sha256": None,
            "stamped_at": None, **retry_queue.enqueued(epoch(at)),
        }, session, upsert=True)

    def _on_StampRequested(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._statement(doc, {"state": rules.REQUESTED}, session)

    def _on_StampFailed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        next_at = epoch(doc["meta"].get("occurred_at")) + float(data["retry_in_seconds"])
        self._statement(doc, {"state": rules.RETRYING, "attempts": int(data["attempt"]),
                              "last_error": data.get("error"), **retry_queue.scheduled(next_at)}, session)

    def _on_StatementStamped(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        self._statement(doc, {
            "state": rules.STAMPED, "attempts": int(data["attempt"]), "stamp_serial": data["stamp_serial"],
            "stamped_sha256": data["sha256"], "stamped_at": doc["meta"].get("occurred_at"),
            **retry_queue.released(), "next_attempt_at": None}, session)


    def _on_StampAbandoned(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._statement(doc, {"state": rules.ABANDONED, "last_error": doc["data"].get("reason"),
                              **retry_queue.released(), "next_attempt_at": None}, session)


class ReadModels:
    """Queries over the documents service's read models (the use cases' only view of them)."""

    def __init__(self, db: Database):
        self.db = db
        self.stamp_queue = RetryQueue(db["statements"], {"state": {"$in": list(rules.PENDING_STATES)}},
                                      STAMP_LEASE_SECONDS)

    def document(self, document_id: str) -> dict | None:
        """One uploaded file's metadata."""
        return self.db["documents"].find_one({"_id": str(document_id)})

    def documents_of(self, nip: str) -> list[dict]:
        """Metadata of every document of one PNS, oldest first."""
        rows = self.db["documents"].find({"nip": nip}).sort("uploaded_at", 1)
        return [{"document_id": row.pop("_id"), **row} for row in rows]

    def latest_statement(self, nip: str) -> dict | None:
        """The PNS's most recently issued statement."""
        return self.db["statements"].find_one({"nip": nip}, sort=[("issued_position", -1)])
