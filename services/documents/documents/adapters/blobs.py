"""Content-addressed file bytes (key = SHA-256); written before the event that refers to them."""
from __future__ import annotations

import hashlib

from bson import Binary
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


class BlobStore:
    """Bytes by SHA-256 in the `blobs` collection; identical content is stored once."""

    def __init__(self, db: Database):
        self.collection = db["blobs"]

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        try:  # no look first: identical bytes are rare (every receipt differs), so the look would mostly be wasted
            self.collection.insert_one({"_id": digest, "size": len(content), "content": Binary(content)})
        except DuplicateKeyError:
            pass  # the same bytes are stored already (or were stored concurrently)
        return digest

    def get(self, digest: str) -> bytes:
        found = self.collection.find_one({"_id": digest})
        if found is None:
            raise LookupError(digest)
        content = bytes(found["content"])
        if hashlib.sha256(content).hexdigest() != digest:
            raise ValueError(f"blob {digest} does not match its hash")
        return content
