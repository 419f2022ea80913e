"""Proof that nothing stored was altered or removed: hash-chain verification and the audit view."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pupns import sequence
from pupns.eventstore import GENESIS_HASH, event_hash
from pupns.redaction import redact

if TYPE_CHECKING:
    from pupns.eventstore import EventStore


def verify_chains(store: EventStore) -> dict:
    """Recompute every hash and link of a store and check its sequence; report each break.

    The chains show an event altered, or removed from the middle of its stream; the sequence (pupns.sequence) shows
    what they cannot: a stream's newest events removed, or a whole stream."""
    broken: list[dict] = []
    streams = events_checked = 0
    current, expected_version, prev = None, 0, GENESIS_HASH
    for doc in store.events.find().sort([("stream", 1), ("version", 1)]):
        if doc["stream"] != current:
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
    broken += sequence.check(store)
    return {"service": store.service, "streams_checked": streams,
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
