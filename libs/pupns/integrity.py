"""Proof that nothing stored was altered or removed: hash-chain verification and the audit view.

A service's whole log can take longer to check than one request may wait (SPEC §4), so the check is paged:
`verify_chains_page` checks whole streams in stream order after a cursor until its budget is spent, then the
sequence (pupns.sequence) block range by block range, and hands back the cursor to go on from. `verify_chains` is
the same check in one go (its pages unbounded). A page reads one bounded range of stream names, found by sampling
the log at evenly spaced positions: an open-ended range costs the local store (SecantusDB) a sort of everything
after the cursor before it returns the first event (2 s at 50,000 events, measured), which MongoDB would not.
"""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from pupns import sequence
from pupns.eventstore import GENESIS_HASH, event_hash
from pupns.redaction import redact

if TYPE_CHECKING:
    from pupns.eventstore import EventStore

PAGE_EVENTS = 5000  # events a page aims at (the range is estimated: a page may read a few times more, or fewer)
PAGE_SECONDS = 2.0  # a page stops at the first stream boundary after this: well inside an RPC's 5 s deadline
SAMPLES = 256  # positions sampled to find where a page's range of stream names ends
YIELD_EVERY = 200  # events between two yields to the service's other green threads (CPU-bound hashing)
# The audit's own job streams (pupns.jobs.new_job_id(service, AUDIT_JOB_TAG)): checked like every stream, but not
# counted, so that asking for the audit does not change the figures it reports.
AUDIT_JOB_TAG = "audit"
UNCOUNTED = re.compile(rf"job-[a-z]+-{AUDIT_JOB_TAG}-[0-9a-f]{{32}}")


def verify_chains(store: EventStore) -> dict:
    """Recompute every hash and link of a store and check its sequence; report each break.

    The chains show an event altered, or removed from the middle of its stream; the sequence (pupns.sequence) shows
    what they cannot: a stream's newest events removed, or a whole stream."""
    total = {"service": store.service, "streams_checked": 0, "events_checked": 0, "broken": []}
    cursor: dict | None = None
    while True:
        page = verify_chains_page(store, cursor, budget_events=None, budget_seconds=None)
        for key in ("streams_checked", "events_checked", "broken"):
            total[key] += page[key]
        if page["done"]:
            return total
        cursor = page["cursor"]


def verify_chains_page(store: EventStore, cursor: dict | None = None, budget_events: int | None = PAGE_EVENTS,
                       budget_seconds: float | None = PAGE_SECONDS) -> dict:
    """One bounded part of `verify_chains`, from `cursor` (None: the start) to a stream boundary past the budget
    (None: no bound): {service, streams_checked, events_checked, broken, cursor (to go on from), done}."""
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    if cursor:  # copied: the caller's cursor stays as it was
        state = {**cursor, "sequence": dict(cursor["sequence"]) if cursor.get("sequence") else None}
    else:
        state = {"phase": "chains", "after": "", "sequence": sequence.start_check(store)}
    page = {"service": store.service, "streams_checked": 0, "events_checked": 0, "broken": []}
    read = 0
    if state["phase"] == "chains":
        read, finished = _chains(store, state, page, budget_events, deadline)
        if not finished:
            return {**page, "cursor": state, "done": False}
        state["phase"] = "sequence"
    budget = None if budget_events is None else max(budget_events - read, 0)
    broken, state["sequence"] = sequence.check_page(store, state["sequence"], budget, deadline)
    page["broken"] += broken
    done = state["sequence"] is None
    return {**page, "cursor": None if done else state, "done": done}


def _chains(store: EventStore, state: dict, page: dict, budget: int | None, deadline: float | None
            ) -> tuple[int, bool]:
    """Check whole streams after `state["after"]`, adding to `page`; returns (events read, whether the chains are
    all checked). Also counts the stored events the sequence check compares with its own count."""
    upper = _upper_bound(store, state["after"], budget) if budget is not None else None
    query = {"$gt": state["after"], **({"$lte": upper} if upper is not None else {})}
    low_water, seq = state["sequence"]["low_water"], state["sequence"]
    seq["stored"] = seq["stored"] or 0
    current, counted, expected_version, prev, read = None, False, 0, GENESIS_HASH, 0
    for doc in store.events.find({"stream": query}).sort([("stream", 1), ("version", 1)]):
        if doc["stream"] != current:
            if current is not None:
                state["after"] = current
                if (budget is not None and read >= budget) or (deadline is not None and time.monotonic() >= deadline):
                    return read, False
            current, expected_version, prev = doc["stream"], 0, GENESIS_HASH
            counted = not UNCOUNTED.fullmatch(current)
            page["streams_checked"] += counted
        read += 1
        page["events_checked"] += counted
        if doc.get("position") is not None and doc["position"] <= low_water:
            seq["stored"] += 1
        expected_version += 1
        reason = None
        if doc["version"] != expected_version:
            reason = "missing_event"
        elif doc.get("prev_hash") != prev:
            reason = "prev_hash_mismatch"
        elif event_hash(doc) != doc.get("hash"):
            reason = "hash_mismatch"
        if reason:
            page["broken"].append({"stream": doc["stream"], "version": doc["version"], "reason": reason})
        expected_version, prev = doc["version"], doc.get("hash")
        if read % YIELD_EVERY == 0:
            time.sleep(0)  # in a (monkey-patched) nameko service, lets its other requests run
    if upper is None:
        return read, True
    state["after"] = upper
    return read, False


def _upper_bound(store: EventStore, after: str, budget: int) -> str | None:
    """The stream name ending a range of about `budget` events after `after`, or None when what is left is about
    that much or less. Each sampled event stands for `top / SAMPLES` events (gaps in positions thin the samples and
    the events alike)."""
    top = store._last_position()  # the position counter: no event lies above it
    if top <= budget:
        return None
    step = top / SAMPLES
    positions = sorted({int(1 + i * step) for i in range(SAMPLES)})
    names = sorted(doc["stream"] for doc in store.events.find({"position": {"$in": positions}}, {"stream": 1})
                   if doc["stream"] > after)
    wanted = max(1, int(budget // step))
    return names[wanted - 1] if len(names) > wanted else None


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
