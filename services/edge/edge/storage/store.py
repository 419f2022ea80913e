"""The edge's own MongoDB database: an operational cache (idempotent answers, the waiting line, rate windows),
no domain data."""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from edge.rpc import unavailable
from pupns import config

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
DUPLICATE_KEY = 11000


def pending_stale_seconds() -> float:
    """After this long a "pending" claim belongs to a request that can no longer be running (it died, or
    releasing the claim failed because the store was down): a retry with the same key takes it over."""
    return float(config.env("PUPNS_EDGE_IDEMPOTENCY_PENDING_SECONDS", "60"))


class MongoEdgeStore:
    """Idempotency records, the waiting line's parts and rate windows, in database `mongo_db("edge")`."""

    def __init__(self, uri: str | None = None, db_name: str | None = None, timeout_ms: int = 1000) -> None:
        self.client = MongoClient(uri or config.mongo_uri(), serverSelectionTimeoutMS=timeout_ms,
                                  connectTimeoutMS=timeout_ms, socketTimeoutMS=4 * timeout_ms, tz_aware=True)
        self.db = self.client[db_name or config.mongo_db("edge")]
        self.idempotency = self.db["idempotency"]
        self.rate_windows = self.db["rate_windows"]
        self.line = self.db["line"]
        self._indexed = False
        self._lock = threading.Lock()

    def _ensure_indexes(self) -> None:
        if self._indexed:
            return
        with self._lock:
            if not self._indexed:
                self.idempotency.create_index([("owner", ASCENDING), ("key", ASCENDING)], unique=True)
                self.idempotency.create_index("created_at", expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS)
                self.rate_windows.create_index("expires_at", expireAfterSeconds=0)
                self.rate_windows.create_index([("w", ASCENDING), ("n", ASCENDING)])
                self.line.create_index("expires_at", expireAfterSeconds=0)
                self._indexed = True

    def ping(self) -> bool:
        self.client.admin.command("ping")
        return True

    # -- idempotency -------------------------------------------------------------
    def claim(self, owner: str, key: str, fingerprint: str) -> dict | None:
        """Reserve (owner, key); None if new, else the existing record."""
        try:
            self._ensure_indexes()
            now = dt.datetime.now(dt.UTC)
            self.idempotency.insert_one({"owner": owner, "key": key, "fingerprint": fingerprint,
                                         "state": "pending", "created_at": now})
            return None
        except DuplicateKeyError:
            try:
                stale = now - dt.timedelta(seconds=pending_stale_seconds())
                if self.idempotency.find_one_and_update(
                        {"owner": owner, "key": key, "fingerprint": fingerprint, "state": "pending",
                         "created_at": {"$lt": stale}}, {"$set": {"created_at": now}}) is not None:
                    return None  # an abandoned claim: this retry runs the request (services dedupe by key)
                return self.idempotency.find_one({"owner": owner, "key": key}) or {"state": "gone"}
            except PyMongoError as exc:
                raise unavailable() from exc
        except PyMongoError as exc:
            raise unavailable() from exc

    def complete(self, owner: str, key: str, answer: dict[str, Any]) -> None:
        try:
            self.idempotency.update_one({"owner": owner, "key": key}, {"$set": {"state": "done", **answer}})
        except PyMongoError as exc:
            raise unavailable() from exc

    def release(self, owner: str, key: str) -> None:
        try:
            self.idempotency.delete_one({"owner": owner, "key": key, "state": "pending"})
        except PyMongoError:
            pass  # the record is pending and expires; a retry will get 409 until then

    # -- the waiting line ------------------------------------------------------------
    def publish_line(self, process: str, part: dict, expires_at: dt.datetime) -> None:
        """Replace this process's part of the waiting line (edge.surge.line)."""
        self._ensure_indexes()
        self.line.replace_one({"_id": process}, {"part": part, "expires_at": expires_at}, upsert=True)

    def read_line(self, process: str, now: dt.datetime) -> list[dict]:
        """The other live processes' parts of the waiting line (a dead process's part expires with it)."""
        found = self.line.find({"_id": {"$ne": process}, "expires_at": {"$gt": now}}, {"part": 1})
        return [doc.get("part") or {} for doc in found]

    # -- rate windows --------------------------------------------------------------
    def add_hits(self, window: str, hits: Mapping[str, int], expires_at: dt.datetime) -> None:
        """Add each key's hits to its count in `window`: one unordered bulk write of upserting `$inc`s."""
        keys = list(hits)
        if not keys:
            return
        self._ensure_indexes()
        try:
            self.rate_windows.bulk_write([_hit(window, key, hits[key], expires_at, upsert=True) for key in keys],
                                         ordered=False)
        except BulkWriteError as exc:
            # Two processes upserting the same new key at once: one insert wins, the other fails with a
            # duplicate key and changed nothing; the document exists now, so a plain $inc adds its hits.
            errors = exc.details.get("writeErrors", [])
            raced = [keys[e["index"]] for e in errors if e.get("code") == DUPLICATE_KEY]
            if raced:
                self.rate_windows.bulk_write([_hit(window, key, hits[key], expires_at, upsert=False)
                                              for key in raced], ordered=False)
            if len(raced) < len(errors):
                raise

    def at_limit(self, window: str, allowance: int) -> set[str]:
        """The keys whose count in `window` has reached `allowance` (one query on the (w, n) index)."""
        self._ensure_indexes()
        found = self.rate_windows.find({"w": window, "n": {"$gte": allowance}}, {"_id": 0, "k": 1})
        return {doc["k"] for doc in found}


def _hit(window: str, key: str, count: int, expires_at: dt.datetime, upsert: bool) -> UpdateOne:
    update: dict[str, Any] = {"$inc": {"n": count}}
    if upsert:
        update["$setOnInsert"] = {"k": key, "w": window, "expires_at": expires_at}
    return UpdateOne({"_id": f"{key}:{window}"}, update, upsert=upsert)


class MemoryEdgeStore:
    """The same contract in process memory (unit tests, single-process development)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # wall-clock seconds, as the Limiter's windows use: expires them like the TTL index
        self.records: dict[tuple[str, str], dict] = {}
        self.lines: dict[str, tuple[dt.datetime, dict]] = {}  # process -> (expires_at, its part of the line)
        self.windows: dict[str, tuple[dt.datetime, dict[str, int]]] = {}  # window -> (expires_at, counts)
        self._lock = threading.Lock()

    def ping(self) -> bool:
        return True

    def claim(self, owner: str, key: str, fingerprint: str) -> dict | None:
        with self._lock:
            existing = self.records.get((owner, key))
            if existing is None:
                self.records[(owner, key)] = {"fingerprint": fingerprint, "state": "pending"}
            return dict(existing) if existing else None

    def complete(self, owner: str, key: str, answer: dict[str, Any]) -> None:
        with self._lock:
            self.records[(owner, key)].update(state="done", **answer)

    def release(self, owner: str, key: str) -> None:
        with self._lock:
            if self.records.get((owner, key), {}).get("state") == "pending":
                del self.records[(owner, key)]

    def publish_line(self, process: str, part: dict, expires_at: dt.datetime) -> None:
        with self._lock:
            self.lines[process] = (expires_at, part)

    def read_line(self, process: str, now: dt.datetime) -> list[dict]:
        with self._lock:
            return [h for name, (expires, h) in self.lines.items() if name != process and expires > now]

    def add_hits(self, window: str, hits: Mapping[str, int], expires_at: dt.datetime) -> None:
        with self._lock:
            now = self.clock()
            self.windows = {w: entry for w, entry in self.windows.items() if entry[0].timestamp() > now}
            counts = self.windows.setdefault(window, (expires_at, {}))[1]
            for key, count in hits.items():
                counts[key] = counts.get(key, 0) + count

    def at_limit(self, window: str, allowance: int) -> set[str]:
        with self._lock:
            counts = self.windows.get(window, (None, {}))[1]
            return {key for key, n in counts.items() if n >= allowance}
