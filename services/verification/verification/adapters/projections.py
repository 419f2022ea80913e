"""verification's read models (`registrations`, `submissions`: one document per NIP; `subscriber_grants`: one per
granted subscriber) and the queries on them. Personal fields are copied as the sealed tokens the events hold."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from pupns import projector

QUEUE_INDEX = [("status", ASCENDING), ("instansi_kode", ASCENDING), ("seq", ASCENDING)]
REGISTRATION_FIELDS = ("registration_number", "nama", "email", "instansi_kode", "instansi_nama", "roster",
                       "registered_at")
Session = ClientSession | None


class Projector(projector.Projector):
    """Keeps the verifier queues in step with the log; `seq` orders each queue first come, first served."""

    collections = ("registrations", "submissions", "subscriber_grants")

    def _on_RegistrationReceived(self, doc: dict, session: Session) -> None:
        data = doc["data"]
        self._set("registrations", doc, {"status": "pending", "reason": None,
                                         **{k: data.get(k) for k in REGISTRATION_FIELDS}}, session)

    def _on_RegistrationConfirmed(self, doc: dict, session: Session) -> None:
        self._set("registrations", doc, {"status": "confirmed", "decided_at": doc["meta"]["occurred_at"]}, session)

    def _on_RegistrationRejected(self, doc: dict, session: Session) -> None:
        self._set("registrations", doc, {"status": "rejected", "reason": doc["data"].get("reason"),
                                         "decided_at": doc["meta"]["occurred_at"]}, session)

    def _on_SubmissionReceived(self, doc: dict, session: Session) -> None:
        data = doc["data"]
        anomalies = data.get("anomalies") or []
        self._set("submissions", doc, {
            "status": "submitted", "sections": data.get("sections") or {}, "submitted_at": data["submitted_at"],
            "anomalies": anomalies, "anomaly_count": len(anomalies), "notes": {}, "decided_at": None,
            "nama": ((data.get("sections") or {}).get("data_utama") or {}).get("nama")}, session)

    def _on_SubmissionApproved(self, doc: dict, session: Session) -> None:
        self._set("submissions", doc, {"status": "verified", "decided_at": doc["meta"]["occurred_at"]}, session)

    def _on_SubmissionReturned(self, doc: dict, session: Session) -> None:
        self._set("submissions", doc, {"status": "returned", "notes": doc["data"].get("notes") or {},
                                       "decided_at": doc["meta"]["occurred_at"]}, session)

    def _on_SubscriberGrantsSet(self, doc: dict, session: Session) -> None:
        data = doc["data"]
        if not data["fields"]:  # withdrawn: the subscriber receives the default copy only
            self.db["subscriber_grants"].delete_one({"_id": data["name"]}, session=session)
            return
        self.db["subscriber_grants"].replace_one(
            {"_id": data["name"]}, {"_id": data["name"], "fields": data["fields"], "version": doc["version"],
                                    "set_at": doc["meta"]["occurred_at"], "set_by": doc["meta"].get("actor")},
            upsert=True, session=session)

    def _set(self, collection: str, doc: dict, changes: dict[str, Any], session: Session) -> None:
        update = {**changes, "nip": doc["nip"], "version": doc["version"], "seq": doc["position"]}
        if doc.get("instansi_kode"):
            update["instansi_kode"] = doc["instansi_kode"]
        self.db[collection].update_one({"_id": doc["nip"]}, {"$set": update}, upsert=True, session=session)

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """Create the read-model collections and their queue indexes (idempotent)."""
        for name in ("registrations", "submissions"):
            db[name].create_index(QUEUE_INDEX)
        db["subscriber_grants"].create_index([("fields", ASCENDING)])  # creates it up front (transactions)
        db["submissions"].create_index([("instansi_kode", ASCENDING), ("_id", ASCENDING)])  # CSV export by NIP


@dataclass(frozen=True)
class Scope:
    """Which instansi a reader sees: every one (an administrator), or exactly one (None included)."""

    every_instansi: bool
    instansi_kode: str | None = None

    def criteria(self) -> dict[str, Any]:
        return {} if self.every_instansi else {"instansi_kode": self.instansi_kode}


class ReadModels:
    """The queries verifiers' use cases ask of the read models."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def queue_page(self, collection: str, status: str, scope: Scope, after_seq: int | None,
                   limit: int) -> list[dict]:
        """Up to `limit` documents in one status after `after_seq`, oldest first."""
        criteria: dict[str, Any] = {"status": status, **scope.criteria()}
        if after_seq is not None:
            criteria["seq"] = {"$gt": after_seq}
        return list(self.db[collection].find(criteria).sort("seq", 1).limit(limit))

    def submissions_by_nip(self, scope: Scope, after_nip: str | None, fields: tuple[str, ...],
                           limit: int) -> list[dict]:
        """Up to `limit` submissions of any status after `after_nip`, by NIP."""
        criteria: dict[str, Any] = scope.criteria()
        if after_nip:
            criteria["_id"] = {"$gt": after_nip}
        return list(self.db["submissions"].find(criteria, dict.fromkeys(fields, 1)).sort("_id", 1).limit(limit))

    def submission(self, nip: str) -> dict | None:
        return self.db["submissions"].find_one({"_id": nip})

    def registration(self, nip: str) -> dict | None:
        return self.db["registrations"].find_one({"_id": nip})

    def subscriber_grants(self) -> dict[str, list[str]]:
        """{subscriber name: granted fields} of every subscriber granted at least one field."""
        return {doc["_id"]: list(doc["fields"]) for doc in self.db["subscriber_grants"].find().sort("_id", 1)}
