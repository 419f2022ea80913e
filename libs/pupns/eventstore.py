"""Append-only event store on MongoDB: one document per event, hash-chained per stream.

Contract: `append` (atomic batch, optimistic concurrency on stream version, optional
idempotency key), `read_stream`, `read_after` (global position), `read_by_nip`,
`unpublished`/`mark_published` (the outbox), `verify` (hash chain audit).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

GENESIS_HASH = "0" * 64
WRITE_CONFLICT = 112

Projection = Callable[[list[dict], ClientSession], None]


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended: its type, JSON-able data and schema version."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


class ConcurrencyError(Exception):
    """The stream moved on since it was read: the append wrote nothing."""

    def __init__(self, stream: str, expected_version: int, actual_version: int | None = None):
        self.stream, self.expected_version, self.actual_version = stream, expected_version, actual_version
        super().__init__(f"stream {stream!r}: expected version {expected_version}, found {actual_version}")


class AlreadyApplied(Exception):
    """The idempotency key was seen before: the earlier result stands, nothing was written."""

    def __init__(self, key: str, result: Any = None):
        self.key, self.result = key, result
        super().__init__(key)


def utcnow_iso() -> str:
    """Current UTC time as ISO 8601 with offset, millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def canonical_json(value: Any) -> str:
    """Stable JSON used for hashing: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(doc: dict) -> str:
    """SHA-256 over every field that the chain protects, including the previous hash."""
    covered = {k: doc.get(k) for k in ("_id", "stream", "version", "type", "schema_version",
                                       "data", "meta", "nip", "instansi_kode", "prev_hash")}
    return hashlib.sha256(canonical_json(covered).encode()).hexdigest()


class EventStore:
    """A service's event log in its own MongoDB database."""

    def __init__(self, db: Database, service: str):
        self.db, self.service = db, service
        self.events = db["events"]
        self.heads = db["streams"]
        self.applied = db["applied_keys"]
        self.counters = db["counters"]

    def ensure_indexes(self) -> None:
        """Create collections and indexes (idempotent); call once at start."""
        existing = set(self.db.list_collection_names())
        for name in ("events", "streams", "applied_keys", "counters"):
            if name not in existing:
                try:
                    self.db.create_collection(name)
                except OperationFailure:
                    pass  # created concurrently by another replica
        self.events.create_index([("stream", 1), ("version", 1)], unique=True)
        self.events.create_index([("position", 1)])
        self.events.create_index([("nip", 1), ("position", 1)])
        self.events.create_index([("published", 1), ("position", 1)])
        self.counters.update_one({"_id": "position"}, {"$setOnInsert": {"value": 0}}, upsert=True)

    # -- writing ---------------------------------------------------------------
    def append(
        self,
        stream: str,
        expected_version: int,
        events: list[NewEvent],
        meta: dict[str, Any] | None = None,
        *,
        nip: str | None = None,
        instansi_kode: str | None = None,
        idempotency_key: str | None = None,
        idempotency_result: Any = None,
        projection: Projection | None = None,
    ) -> list[dict]:
        """Append events atomically after `expected_version`; returns the stored documents."""
        if not events:
            return []
        if idempotency_key:
            seen = self.applied.find_one({"_id": idempotency_key})
            if seen:
                raise AlreadyApplied(idempotency_key, seen.get("result"))
        head = self.heads.find_one({"_id": stream}) or {"version": 0, "hash": GENESIS_HASH}
        if head["version"] != expected_version:
            raise ConcurrencyError(stream, expected_version, head["version"])
        docs = self._build(stream, expected_version, head["hash"], events, meta or {}, nip, instansi_kode)
        try:
            with self.db.client.start_session() as session, session.start_transaction():
                self._write_head(session, stream, expected_version, docs[-1])
                self.events.insert_many(docs, session=session)
                if idempotency_key:
                    self.applied.insert_one(
                        {"_id": idempotency_key, "at": utcnow_iso(), "result": idempotency_result},
                        session=session)
                if projection:
                    projection(docs, session)
        except DuplicateKeyError as exc:
            if idempotency_key and "applied_keys" in str(exc):
                seen = self.applied.find_one({"_id": idempotency_key}) or {}
                raise AlreadyApplied(idempotency_key, seen.get("result")) from exc
            raise ConcurrencyError(stream, expected_version) from exc
        except OperationFailure as exc:
            if exc.code == WRITE_CONFLICT or exc.has_error_label("TransientTransactionError"):
                raise ConcurrencyError(stream, expected_version) from exc
            raise
        return docs

    def _build(self, stream, expected_version, prev_hash, events, meta, nip, instansi_kode) -> list[dict]:
        counter = self.counters.find_one_and_update(
            {"_id": "position"}, {"$inc": {"value": len(events)}},
            return_document=pymongo.ReturnDocument.AFTER)
        if counter is None:
            raise RuntimeError("event store not initialised: call ensure_indexes() first")
        last = counter["value"]
        first_position = last - len(events) + 1
        occurred_at = utcnow_iso()
        docs = []
        for offset, event in enumerate(events):
            doc = {
                "_id": uuid.uuid4().hex,
                "stream": stream,
                "version": expected_version + offset + 1,
                "type": event.type,
                "schema_version": event.schema_version,
                "data": event.data,
                "meta": {"occurred_at": occurred_at, "service": self.service, **meta},
                "nip": nip,
                "instansi_kode": instansi_kode,
                "prev_hash": prev_hash,
            }
            doc["hash"] = prev_hash = event_hash(doc)
            doc["position"] = first_position + offset
            doc["published"] = False
            docs.append(doc)
        return docs

    def _write_head(self, session: ClientSession, stream: str, expected: int, last: dict) -> None:
        new_head = {"version": last["version"], "hash": last["hash"]}
        if expected == 0:
            self.heads.insert_one({"_id": stream, **new_head}, session=session)
            return
        result = self.heads.update_one({"_id": stream, "version": expected}, {"$set": new_head}, session=session)
        if result.matched_count != 1:
            raise ConcurrencyError(stream, expected)

    def remember(self, key: str, result: Any) -> None:
        """Record an idempotency key with its result when no event was written."""
        try:
            self.applied.insert_one({"_id": key, "at": utcnow_iso(), "result": result})
        except DuplicateKeyError:
            pass

    def recall(self, key: str) -> dict | None:
        """The stored record of an idempotency key, if any."""
        return self.applied.find_one({"_id": key})

    # -- reading ---------------------------------------------------------------
    def read_stream(self, stream: str) -> list[dict]:
        """All events of one stream, in version order."""
        return list(self.events.find({"stream": stream}).sort("version", 1))

    def stream_version(self, stream: str) -> int:
        head = self.heads.find_one({"_id": stream})
        return head["version"] if head else 0

    def read_after(self, position: int, limit: int = 1000) -> list[dict]:
        """Events with a global position greater than `position`, in order."""
        return list(self.events.find({"position": {"$gt": position}}).sort("position", 1).limit(limit))

    def iterate_all(self, batch: int = 1000) -> Iterator[dict]:
        """Every event in global order, read in batches."""
        position = 0
        while True:
            page = self.read_after(position, batch)
            if not page:
                return
            yield from page
            position = page[-1]["position"]

    def read_by_nip(self, nip: str) -> list[dict]:
        """Every event about one PNS, in global order."""
        return list(self.events.find({"nip": nip}).sort("position", 1))

    def unpublished(self, limit: int = 200) -> list[dict]:
        """The outbox: stored events not yet confirmed by the broker."""
        return list(self.events.find({"published": False}).sort("position", 1).limit(limit))

    def mark_published(self, event_ids: list[str]) -> None:
        if event_ids:
            self.events.update_many({"_id": {"$in": event_ids}}, {"$set": {"published": True}})

    def count(self) -> int:
        return self.events.count_documents({})

    # -- auditing ----------------------------------------------------------------
    def verify(self) -> dict:
        """Recompute every hash and link; report streams whose chain is broken."""
        broken: list[dict] = []
        streams = events_checked = 0
        current, expected_version, prev = None, 0, GENESIS_HASH
        heads = {h["_id"]: h for h in self.heads.find()}

        def close(stream: str | None, version: int, last_hash: str) -> None:
            head = heads.pop(stream, None) if stream is not None else None
            if stream is not None and (head is None or head["version"] != version or head["hash"] != last_hash):
                broken.append({"stream": stream, "version": version, "reason": "head_mismatch"})

        for doc in self.events.find().sort([("stream", 1), ("version", 1)]):
            if doc["stream"] != current:
                close(current, expected_version, prev)
                current, expected_version, prev = doc["stream"], 0, GENESIS_HASH
                streams += 1
            events_checked += 1
            expected_version += 1
            reason = None
            if doc["version"] != expected_version:
                reason = "missing_event"
            elif doc.get("prev_hash") != prev:
                reason = "prev_hash_mismatch"
            elif event_hash(doc) != doc.get("hash"):
                reason = "hash_mismatch"
            if reason:
                broken.append({"stream": doc["stream"], "version": doc["version"], "reason": reason})
            expected_version, prev = doc["version"], doc.get("hash")
        close(current, expected_version, prev)
        for stream, head in heads.items():  # a head with no events left: all were removed
            broken.append({"stream": stream, "version": head["version"], "reason": "events_removed"})
        return {"service": self.service, "streams_checked": streams,
                "events_checked": events_checked, "broken": broken}


def audit_view(doc: dict) -> dict:
    """An event as the admin audit endpoint shows it."""
    meta = doc.get("meta", {})
    return {
        "stream": doc["stream"], "version": doc["version"], "type": doc["type"],
        "occurred_at": meta.get("occurred_at"), "position": doc.get("position"),
        "service": meta.get("service"),
        "actor": {"id": meta.get("actor"), "role": meta.get("role")},
        "data": redact(doc.get("data", {})), "hash": doc["hash"],
    }


SECRET_FIELDS = frozenset({"password_hash", "password"})


def redact(data: Any) -> Any:
    """Drop secret fields (password hashes) wherever they nest."""
    if isinstance(data, dict):
        return {k: redact(v) for k, v in data.items() if k not in SECRET_FIELDS}
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data
