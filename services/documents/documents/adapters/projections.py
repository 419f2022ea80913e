"""Read models of the documents service, kept in step with its events (and rebuilt by replay)."""
from __future__ import annotations

from datetime import datetime

from pymongo.client_session import ClientSession

from documents import statement_rules as rules
from pupns.replay import TypeDispatchProjector


def epoch(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


class Projector(TypeDispatchProjector):
    """`documents`: metadata per uploaded file; `receipts`: issued receipt per registration number;
    `statements`: each submission's Surat Pernyataan and its stamping state (the retry loop scans it)."""

    collections: tuple[str, ...] = ("documents", "receipts", "statements")

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
            "stamped_at": None, "next_attempt_at": epoch(at), "lease_until": 0.0,
        }, session, upsert=True)

    def _on_StampRequested(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        self._statement(doc, {"state": rules.REQUESTED}, session)

    def _on_StampFailed(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        self._statement(doc, {
            "state": rules.RETRYING, "attempts": int(data["attempt"]), "last_error": data.get("error"),
            "next_attempt_at": epoch(doc["meta"].get("occurred_at")) + float(data["retry_in_seconds"]),
            "lease_until": 0.0}, session)

    def _on_StatementStamped(self, doc: dict, session: ClientSession | None) -> None:  # noqa: N802
        data = doc["data"]
        self._statement(doc, {
            "state": rules.STAMPED, "attempts": int(data["attempt"]), "stamp_serial": data["stamp_serial"],
            "stamped_sha256": data["sha256"], "stamped_at": doc["meta"].get("occurred_at"),
            "next_attempt_at": None, "lease_until": 0.0}, session)
