"""Append-only event store on MongoDB: one document per event, hash-chained per stream.

Contract: `append` (atomic batch, optimistic concurrency on stream version, optional
idempotency key), `read_stream`, `read_after` (global position), `read_by_nip`,
`unpublished`/`mark_published` (the outbox), `verify` (hash chain audit).
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import UpdateOne, WriteConcern
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError, OperationFailure

from pupns import config
from pupns.canonical import canonical_json

GENESIS_HASH = "0" * 64
WRITE_CONFLICT = 112
# An append is answered only once it is journaled on a majority: a write answered 2xx survives a kill -9 of
# the store (SPEC §6), whatever the server's default write concern is.
DURABLE = WriteConcern(w="majority", j=True)

Projection = Callable[[list[dict], ClientSession], None]


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended: its type, JSON-able data and schema version."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True)
class StreamAppend:
    """One stream's share of an append: events after `expected_version`."""

    stream: str
    expected_version: int
    events: list[NewEvent]
    nip: str | None = None
    instansi_kode: str | None = None


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


def event_hash(doc: dict) -> str:
    """HMAC-SHA256, keyed with the audit key held outside the database (config.audit_key), over every field the
    chain protects, including the previous hash: whoever can write the database cannot recompute the chain."""
    covered = {k: doc.get(k) for k in ("_id", "stream", "version", "type", "schema_version",
                                       "data", "meta", "nip", "instansi_kode", "prev_hash")}
    return hmac.new(config.audit_key(), canonical_json(covered).encode(), hashlib.sha256).hexdigest()


class EventStore:
    """A service's event log in its own MongoDB database."""

    def __init__(self, db: Database, service: str):
        self.db, self.service = db, service
        self.events = db["events"]
        self.heads = db["streams"]
        self.applied = db["applied_keys"]
        self.counters = db["counters"]
        self._fresh: list[dict] | None = None  # see track_fresh
        self._fresh_lock = threading.Lock()
        self._sources: dict[str, dict] = {}  # see consuming()

    def ensure_indexes(self) -> None:
        """Create collections and indexes (idempotent); call once at start."""
        existing = set(self.db.list_collection_names())
        for name in ("events", "streams", "applied_keys", "counters"):
            if name not in existing:
                try:
                    self.db.create_collection(name)
                except (OperationFailure, CollectionInvalid):
                    pass  # created concurrently by another replica (found by the driver's check or the server's)
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
        part = StreamAppend(stream, expected_version, events, nip, instansi_kode)
        return self.append_many([part], meta, idempotency_key=idempotency_key,
                                idempotency_result=idempotency_result, projection=projection)

    def append_many(
        self,
        parts: list[StreamAppend],
        meta: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        idempotency_result: Any = None,
        projection: Projection | None = None,
    ) -> list[dict]:
        """Append to several streams in one transaction: all land or none (bulk work, e.g. imports)."""
        parts = [part for part in parts if part.events]
        if not parts:
            return []
        streams = [part.stream for part in parts]
        if len(set(streams)) != len(streams):
            raise ValueError("append_many takes one part per stream")
        # A repeated idempotency key is found by the unique insert inside the transaction, not by a read first:
        # repeats are rare, and every append would pay for the read. New streams need no head either.
        existing = [part.stream for part in parts if part.expected_version]
        heads = {h["_id"]: h for h in self.heads.find({"_id": {"$in": existing}})} if existing else {}
        for part in parts:
            actual = heads.get(part.stream, {}).get("version", 0)
            if actual != part.expected_version:
                raise ConcurrencyError(part.stream, part.expected_version, actual)
        position = self._reserve_positions(sum(len(part.events) for part in parts))
        occurred_at, docs = utcnow_iso(), []
        for part in parts:
            prev_hash = heads.get(part.stream, {}).get("hash", GENESIS_HASH)
            docs += self._chain(part, prev_hash, position + len(docs), {"occurred_at": occurred_at,
                                                                        "service": self.service, **(meta or {})})
        try:
            with self.db.client.start_session() as session, session.start_transaction(write_concern=DURABLE):
                if idempotency_key:  # first, so that a repeat is AlreadyApplied rather than a version conflict
                    self.applied.insert_one(self._applied_doc(idempotency_key, idempotency_result), session=session)
                self._write_heads(session, parts, docs)
                self.events.insert_many(docs, session=session)
                if projection:
                    projection(docs, session)
        except DuplicateKeyError as exc:
            if idempotency_key and "applied_keys" in str(exc):
                seen = self.applied.find_one({"_id": idempotency_key}) or {}
                raise AlreadyApplied(idempotency_key, seen.get("result")) from exc
            raise ConcurrencyError(parts[0].stream, parts[0].expected_version) from exc
        except OperationFailure as exc:
            if exc.code == WRITE_CONFLICT or exc.has_error_label("TransientTransactionError"):
                raise ConcurrencyError(parts[0].stream, parts[0].expected_version) from exc
            raise
        if self._fresh is not None:
            with self._fresh_lock:
                self._fresh.extend(docs)
        return docs

    def track_fresh(self) -> None:
        """Keep the events this process appends for `take_fresh` (turned on by the outbox relay's owner)."""
        self._fresh = []

    def take_fresh(self) -> list[dict]:
        """Events this process appended since the last call (the outbox relay publishes them without a query)."""
        if not self._fresh:
            return []
        with self._fresh_lock:
            fresh, self._fresh = self._fresh, []
        return fresh

    def _reserve_positions(self, count: int) -> int:
        """Reserve `count` global positions; returns the first. Gaps are harmless, order is kept."""
        counter = self.counters.find_one_and_update(
            {"_id": "position"}, {"$inc": {"value": count}}, return_document=pymongo.ReturnDocument.AFTER)
        if counter is None:
            raise RuntimeError("event store not initialised: call ensure_indexes() first")
        return counter["value"] - count + 1

    def _chain(self, part: StreamAppend, prev_hash: str, first_position: int, meta: dict) -> list[dict]:
        docs = []
        for offset, event in enumerate(part.events):
            doc = {
                "_id": uuid.uuid4().hex,
                "stream": part.stream,
                "version": part.expected_version + offset + 1,
                "type": event.type,
                "schema_version": event.schema_version,
                "data": event.data,
                "meta": meta,
                "nip": part.nip,
                "instansi_kode": part.instansi_kode,
                "prev_hash": prev_hash,
            }
            doc["hash"] = prev_hash = event_hash(doc)
            doc["position"] = first_position + offset
            doc["published"] = False
            docs.append(doc)
        return docs

    def _write_heads(self, session: ClientSession, parts: list[StreamAppend], docs: list[dict]) -> None:
        last = {doc["stream"]: doc for doc in docs}  # the newest event of each stream
        new, moved = [], []
        for part in parts:
            head = {"version": last[part.stream]["version"], "hash": last[part.stream]["hash"]}
            if part.expected_version == 0:
                new.append({"_id": part.stream, **head})
            else:
                moved.append(UpdateOne({"_id": part.stream, "version": part.expected_version}, {"$set": head}))
        try:
            if new:
                self.heads.insert_many(new, session=session)
            if moved and self.heads.bulk_write(moved, session=session).matched_count != len(moved):
                raise ConcurrencyError(parts[0].stream, parts[0].expected_version)
        except BulkWriteError as exc:  # a stream that was new when read has been created since
            raise ConcurrencyError(parts[0].stream, parts[0].expected_version) from exc

    def consuming(self, key: str, source: dict) -> None:
        """Say which consumed event the idempotency key `key` stands for ({stream, version}): the key's record then
        keeps it, so the order in which a consumer applied each stream's events can be checked afterwards
        (`pupns.replay.consumed_out_of_order`) at no extra write. `consumed(key)` forgets it."""
        self._sources[key] = source

    def consumed(self, key: str) -> None:
        self._sources.pop(key, None)

    def _applied_doc(self, key: str, result: Any) -> dict:
        doc = {"_id": key, "at": utcnow_iso(), "result": result}
        source = self._sources.get(key)
        if source is not None:
            doc["source"] = source
        return doc

    def remember(self, key: str, result: Any) -> None:
        """Record an idempotency key with its result when no event was written."""
        try:
            self.applied.insert_one(self._applied_doc(key, result))
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
