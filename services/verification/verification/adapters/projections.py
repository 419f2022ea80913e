"""Read models of verification: `registrations` and `submissions`, one document per NIP."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

QUEUE_INDEX = [("status", ASCENDING), ("instansi_kode", ASCENDING), ("seq", ASCENDING)]


def registration_fields(doc: dict) -> dict[str, Any]:
    data, kind = doc["data"], doc["type"]
    if kind == "RegistrationReceived":
        return {"status": "pending", "reason": None, **{k: data.get(k) for k in (
            "registration_number", "nama", "email", "instansi_kode", "instansi_nama", "roster", "registered_at")}}
    if kind == "RegistrationConfirmed":
        return {"status": "confirmed", "decided_at": doc["meta"]["occurred_at"]}
    if kind == "RegistrationRejected":
        return {"status": "rejected", "reason": data.get("reason"), "decided_at": doc["meta"]["occurred_at"]}
    return {}


def submission_fields(doc: dict) -> dict[str, Any]:
    data, kind = doc["data"], doc["type"]
    if kind == "SubmissionReceived":
        anomalies = data.get("anomalies") or []
        return {"status": "submitted", "sections": data.get("sections") or {}, "submitted_at": data["submitted_at"],
                "anomalies": anomalies, "anomaly_count": len(anomalies), "notes": {}, "decided_at": None,
                "nama": ((data.get("sections") or {}).get("data_utama") or {}).get("nama")}
    if kind == "SubmissionApproved":
        return {"status": "verified", "decided_at": doc["meta"]["occurred_at"]}
    if kind == "SubmissionReturned":
        return {"status": "returned", "notes": data.get("notes") or {}, "decided_at": doc["meta"]["occurred_at"]}
    return {}


class Projector:
    """Keeps the verifier queues in step with the log; `seq` orders each queue first come, first served."""

    collections = ("registrations", "submissions")
    STREAMS = {"registration-": ("registrations", registration_fields),
               "submission-": ("submissions", submission_fields)}

    def __init__(self, db: Database) -> None:
        self.db = db

    def apply(self, docs: list[dict], session: ClientSession | None) -> None:
        for doc in docs:
            prefix = doc["stream"].split("-", 1)[0] + "-"
            if prefix not in self.STREAMS:
                continue
            collection, fields_of = self.STREAMS[prefix]
            changes = fields_of(doc)
            if not changes:
                continue
            update = {**changes, "nip": doc["nip"], "version": doc["version"], "seq": doc["position"]}
            if doc.get("instansi_kode"):
                update["instansi_kode"] = doc["instansi_kode"]
            self.db[collection].update_one({"_id": doc["nip"]}, {"$set": update}, upsert=True, session=session)


def ensure_read_models(db: Database) -> None:
    """Create the read-model collections and their queue indexes (idempotent)."""
    for name in Projector.collections:
        db[name].create_index(QUEUE_INDEX)
    db["submissions"].create_index([("instansi_kode", ASCENDING), ("_id", ASCENDING)])  # CSV export by NIP
