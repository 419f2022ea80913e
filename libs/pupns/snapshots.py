"""Aggregate snapshots: a stream's state at a version, so that loading it reads only the events after that version.

Without them every command reads its aggregate's whole stream: a form saved 45 times cost its save ~2.5x the store
time of a fresh one (bench: save capacity fell from 228 to 159/s over 8 passes of the same 240 forms). A snapshot is
a cache, never a record: the event log stays the only truth, a snapshot that does not fit is ignored, and dropping
the `snapshots` collection is always safe.

A snapshot is used only when all of these hold:
- its `code` is this process's fingerprint of the code that builds the state (the aggregate's domain package and
  the aggregate base): any change to that code ignores every older snapshot, without anyone remembering to bump a
  number;
- its MAC, keyed with the audit key held outside the database (as the event chain is), checks: whoever can write
  the database cannot plant a state the events never built. An older genuine snapshot is harmless: the events after
  its version are read and applied.
A snapshot is written after a save that took the stream `every` or more events past the one it was loaded from,
outside the append's transaction (a lost write costs a longer read next time, nothing else), and never over a newer
one.
"""
from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from pupns import config
from pupns.canonical import canonical_json

log = logging.getLogger(__name__)
COLLECTION = "snapshots"


def code_fingerprint(*modules: ModuleType) -> str:
    """A digest of the source of `modules` (a package: every .py file under it)."""
    digest = hashlib.sha256()
    for module in modules:
        path = Path(inspect.getfile(module))
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class Snapshots:
    """The latest snapshot of each stream of one aggregate type, in the service's own database."""

    def __init__(self, db: Database, code: str, every: int = 10) -> None:
        self.collection, self.code, self.every = db[COLLECTION], code, every

    def latest(self, stream: str) -> dict | None:
        """The stream's snapshot {version, head_hash, head_position, state} if one fits this code and checks."""
        doc = self.collection.find_one({"_id": stream})
        if doc is None or doc.get("code") != self.code:
            return None
        if not hmac.compare_digest(doc.get("mac", ""), self._mac(doc)):
            log.warning("snapshot of %s does not check against the audit key: ignored, the stream is read whole",
                        stream)
            return None
        return doc

    def due(self, loaded_at: int, version: int) -> bool:
        """Whether a save from `loaded_at` (the version of the snapshot it loaded from, 0: none) to `version` has
        gone far enough to take a new one."""
        return version - loaded_at >= self.every

    def keep(self, stream: str, version: int, head_hash: str | None, head_position: int | None,
             state: dict[str, Any]) -> None:
        """Store the stream's state at `version`, unless a snapshot as new or newer is there already."""
        doc = {"_id": stream, "code": self.code, "version": version, "head_hash": head_hash,
               "head_position": head_position, "state": state}
        doc["mac"] = self._mac(doc)
        try:
            self.collection.replace_one({"_id": stream, "version": {"$lt": version}}, doc, upsert=True)
        except DuplicateKeyError:
            pass  # a snapshot as new or newer was kept meanwhile
        except PyMongoError:
            log.warning("snapshot of %s at version %s not kept; the next load reads more events", stream, version,
                        exc_info=True)

    @staticmethod
    def _mac(doc: dict) -> str:
        covered = {k: doc.get(k) for k in ("_id", "code", "version", "head_hash", "head_position", "state")}
        return hmac.new(config.audit_key(), canonical_json(covered).encode(), hashlib.sha256).hexdigest()
