"""File bytes sealed per PNS (SPEC §7), keyed per NIP; written before the event that refers to them.

The key is an HMAC of the NIP and the clear SHA-256 (`pupns.blind_index`, purpose "document-blob"): the same
file of the same PNS is stored once, but a key tells nothing without PUPNS_BLIND_INDEX_KEY and never links two
PNS holding the same file (the SHA-256 of the clear bytes stays in the event log, as SPEC asks).
"""
from __future__ import annotations

import hashlib

from bson import Binary
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pupns.blind_index import blind_index
from pupns.personal import ERASED, FieldCodec

BLOB_PURPOSE = "document-blob"


def blob_key(nip: str, digest: str) -> str:
    """Where one PNS's file with this clear SHA-256 is stored."""
    return blind_index(BLOB_PURPOSE, f"{nip}:{digest}")


class BlobStore:
    """Sealed bytes in the `blobs` collection, found by (NIP, SHA-256 of the clear bytes)."""

    def __init__(self, db: Database, codec: FieldCodec):
        self.collection, self.codec = db["blobs"], codec

    def put(self, nip: str, content: bytes) -> str:
        """Seal and store `content` for this PNS; returns its clear SHA-256 (what events record)."""
        digest = hashlib.sha256(content).hexdigest()
        key = blob_key(nip, digest)
        sealed = Binary(self.codec.seal_bytes(nip, content))
        try:  # no look first: identical bytes are rare (every receipt differs), so the look would mostly be wasted
            self.collection.insert_one({"_id": key, "nip": nip, "size": len(sealed), "content": sealed})
        except DuplicateKeyError:
            self._replace_if_erased(nip, key, sealed)
        return digest

    def _replace_if_erased(self, nip: str, key: str, sealed: Binary) -> None:
        # Stored before (or concurrently): keep it, unless it was sealed with a key erased since; then the PNS
        # re-registered with a new key and sends the same file again, which must be readable.
        found = self.collection.find_one({"_id": key})
        if found is not None and self.codec.open_bytes(nip, bytes(found["content"])) is ERASED:
            self.collection.replace_one({"_id": key, "content": found["content"]},
                                        {"nip": nip, "size": len(sealed), "content": sealed})

    def get(self, nip: str, digest: str) -> bytes | object:
        """The clear bytes, or ERASED when the PNS's data key was erased; LookupError when absent."""
        found = self.collection.find_one({"_id": blob_key(nip, digest)})
        if found is None:  # stored before issue 13: clear bytes under their SHA-256
            found = self.collection.find_one({"_id": digest, "nip": {"$exists": False}})
        if found is None:
            raise LookupError(digest)
        content = self.codec.open_bytes(nip, bytes(found["content"]))
        if content is ERASED:
            return ERASED
        if hashlib.sha256(content).hexdigest() != digest:
            raise ValueError(f"blob {digest} does not match its hash")
        return content
