"""Signed checkpoints of a service's streams, kept outside the database (issue 11, SPEC §6).

The keyed hash chain proves that no stored event was altered, but someone who can write the database could still
delete a whole stream together with its head. A checkpoint, taken by an operator (`pupns audit checkpoint`) and kept
where the database's writers cannot reach (write-once storage), records as of a settled global position P: how many
streams there were and, per bucket of stream names, a digest of each stream's last (version, hash) at or before P.
It is signed with the audit key. Checking it later (`pupns audit verify --checkpoint FILE`) recomputes the same
digests from the events at or before P: a stream deleted, truncated or rewritten before P changes its bucket's digest
and is reported with the bucket, while streams that only grew after P change nothing. Buckets keep the file small
(BUCKETS digests, whatever the number of streams). It also keeps the newest block of the sequence (pupns.sequence):
a sequence cut off after it, with the events its blocks named, is found too.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from pupns import config, sequence
from pupns.canonical import canonical_json
from pupns.eventstore import EventStore

BUCKETS = 1024
# Positions are reserved before a transaction commits: an event may still land at a lower position until its
# transaction ends (the store aborts a transaction after 60 s). A checkpoint covers only what is older than that.
SETTLED = timedelta(seconds=120)


def bucket_of(stream: str) -> int:
    return int.from_bytes(hashlib.sha256(stream.encode()).digest()[:4], "big") % BUCKETS


def settled_position(store: EventStore, now: datetime | None = None) -> int:
    """The highest position whose event is older than SETTLED (0 when there is none)."""
    cutoff = ((now or datetime.now(UTC)) - SETTLED).isoformat(timespec="milliseconds")
    last = store.events.find_one({"meta.occurred_at": {"$lt": cutoff}}, sort=[("position", -1)],
                                 projection={"position": 1})
    return int(last["position"]) if last else 0


def digests(store: EventStore, position: int) -> tuple[int, list[str]]:
    """(number of streams, the digest of each bucket) as of `position`."""
    last: dict[str, tuple[int, str]] = {}
    for doc in store.events.find({"position": {"$lte": position}}, {"stream": 1, "version": 1, "hash": 1}):
        seen = last.get(doc["stream"])
        if seen is None or doc["version"] > seen[0]:
            last[doc["stream"]] = (doc["version"], doc["hash"])
    lines: list[list[str]] = [[] for _ in range(BUCKETS)]
    for stream in sorted(last):
        version, digest = last[stream]
        lines[bucket_of(stream)].append(f"{stream}\t{version}\t{digest}")
    return len(last), [hashlib.sha256("\n".join(bucket).encode()).hexdigest() for bucket in lines]


def _sign(body: dict) -> str:
    return hmac.new(config.audit_key(), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def take(store: EventStore, now: datetime | None = None) -> dict:
    """A signed checkpoint of the store as of its settled position."""
    position = settled_position(store, now)
    streams, buckets = digests(store, position)
    body = {"service": store.service, "position": position, "streams": streams, "buckets": buckets,
            "sequence": sequence.newest_block(store),
            "taken_at": (now or datetime.now(UTC)).isoformat(timespec="seconds")}
    return {**body, "signature": _sign(body)}


def check(store: EventStore, checkpoint: dict) -> list[dict]:
    """What no longer matches a checkpoint: [] when every stream it saw is still there as it was."""
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    if not hmac.compare_digest(_sign(body), str(checkpoint.get("signature", ""))):
        return [{"reason": "checkpoint_signature_invalid"}]
    if body.get("service") != store.service:
        return [{"reason": "checkpoint_of_another_service", "service": body.get("service")}]
    streams, buckets = digests(store, int(body["position"]))
    found = [{"reason": "stream_changed_before_checkpoint", "bucket": i}
             for i, (then, now) in enumerate(zip(body["buckets"], buckets, strict=True)) if then != now]
    if streams != body["streams"]:
        found.append({"reason": "stream_count_changed", "was": body["streams"], "now": streams})
    kept = body.get("sequence")  # the sequence's newest blocks could be cut off with their events: not before this
    if kept and not sequence.holds_block(store, kept):
        found.append({"reason": "sequence_cut_before_checkpoint", "block": kept["block"]})
    return found
