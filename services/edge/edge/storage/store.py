"""The edge's own MongoDB database: an operational cache (idempotent answers, the waiting line, rate windows),
no domain data."""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from edge.rpc import unavailable
from pupns import config

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def process_name() -> str:
    """A name no other edge process (here or on another replica) has: what it writes to the shared documents under."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def pending_stale_seconds() -> float:
    """After this long a "pending" claim belongs to a request that can no longer be running (it died, or
    releasing the claim failed because the store was down): a retry with the same key takes it over."""
    return float(config.env("PUPNS_EDGE_IDEMPOTENCY_PENDING_SECONDS", "60"))


class MongoEdgeStore:
    """Idempotency records, the waiting line's parts and rate windows, in database `mongo_db("edge")`."""

    def __init__(self, uri: str | None = None, db_name: str | None = None, timeout_ms: int = 1000) -> None:
        self.client = MongoClient(uri or config.mongo_uri("edge"), serverSelectionTimeoutMS=timeout_ms,
                                  connectTimeoutMS=timeout_ms, socketTimeoutMS=4 * timeout_ms, tz_aware=True)
        self.db = self.client[db_name or config.mongo_db("edge")]
        self.idempotency = self.db["idempotency"]
        self.rate_windows = self.db["rate_windows"]
        self.line = self.db["line"]
        self._indexed = False
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self.writer = process_name()  # one store per process, as a rule
        self._counts: dict[str, tuple[dt.datetime, dict[str, int]]] = {}  # window -> (expires_at, this writer's)

    def _ensure_indexes(self) -> None:
        if self._indexed:
            return
        with self._lock:
            if not self._indexed:
                self.idempotency.create_index([("owner", ASCENDING), ("key", ASCENDING)], unique=True)
                self.idempotency.create_index("created_at", expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS)
                self.rate_windows.create_index("expires_at", expireAfterSeconds=0)
                self.rate_windows.create_index("w")
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
        """Add each key's hits to this writer's counts in `window` and store them whole: one document per writer
        (process) and window, replaced, whatever the number of keys. (An upsert per key cost the local store
        ~3 ms of its time per login, every login being a key of its own.) Hits whose write failed are still in
        the counts and go with the next one."""
        if not hits:
            return
        self._ensure_indexes()
        with self._lock:
            now = dt.datetime.now(dt.UTC)
            self._counts = {w: entry for w, entry in self._counts.items() if w == window or entry[0] > now}
            counts = self._counts.setdefault(window, (expires_at, {}))[1]
            for key, count in hits.items():
                counts[key] = counts.get(key, 0) + count
        with self._writing:  # one writer's replaces in the order of its counts
            with self._lock:
                snapshot = json.dumps(self._counts[window][1], separators=(",", ":"))
            self.rate_windows.replace_one({"_id": f"{window}|{self.writer}"},
                                          {"w": window, "c": snapshot, "expires_at": expires_at}, upsert=True)

    def at_limit(self, window: str, allowance: int) -> set[str]:
        """The keys whose count in `window`, summed over every writer, has reached `allowance` (one query on the
        window index)."""
        self._ensure_indexes()
        totals: dict[str, int] = {}
        for doc in self.rate_windows.find({"w": window}, {"_id": 0, "c": 1}):
            for key, count in json.loads(doc.get("c") or "{}").items():
                totals[key] = totals.get(key, 0) + int(count)
        return {key for key, count in totals.items() if count >= allowance}


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
