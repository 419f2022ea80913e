"""Read models of the documents service, kept in step with its events (and rebuilt by replay)."""
from __future__ import annotations

from pymongo.client_session import ClientSession

from pupns.replay import TypeDispatchProjector


class Projector(TypeDispatchProjector):
    """`documents`: metadata per uploaded file; `receipts`: issued receipt per registration number."""

    collections: tuple[str, ...] = ("documents", "receipts")


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
