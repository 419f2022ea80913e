"""The sequence: a continuous, keyed numbering of a service's events in commit order (issue 11, item 6).

Global positions are reserved before an append's transaction (pupns.eventstore): order is kept, but an append that
fails leaves its positions unused, so a gap in positions proves nothing and a deleted event hides among the gaps.
The sequencer numbers events after they commit instead: it writes blocks to the collection `sequence`, each listing
the next events it found (id, stream, version, position, hash) under continuous numbers, and each keyed with the
audit key (held outside the database) over its content and the previous block's key. Whoever can write the database
can neither delete a sequenced event (its entry names it), nor drop or renumber a block (the numbers and the keyed
chain break), nor forge one; only the newest blocks can be cut off unseen, which the signed checkpoint
(pupns.checkpoint) covers.

One block per pass, whatever the number of events in it: the store pays one insert per second at most. Every
replica may run a sequencer; the block's number is its `_id`, so of two that race exactly one insert lands and the
other reloads. A position still missing `VOID_AFTER` after a later one appeared is an append that failed (the store
aborts a transaction after 60 s) and is passed over.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from pupns import config
from pupns.canonical import canonical_json
from pupns.eventstore import GENESIS_HASH, EventStore

COLLECTION = "sequence"  # operational like the outbox flag: written after commit, never replayed, never a read model
VOID_AFTER = 120.0  # seconds a missing position may still be filled by a transaction that has not committed yet
PASS_LIMIT = 2000  # events read per pass
CHECK_BATCH = 1000  # sequenced events looked up together by the audit
BLOCKS_PER_READ = 20  # blocks read together by a paged audit (a block holds up to PASS_LIMIT events)
RUN_GAP = 64  # positions between two sequenced events read in one range (gaps are failed appends, void block ends)
STALE = timedelta(minutes=10)  # a log whose events are this old and has no block at all lost its sequence
FIELDS = {"stream": 1, "version": 1, "position": 1, "hash": 1}


def block_mac(block: dict) -> str:
    """The audit key's HMAC over a block's content and its predecessor's MAC."""
    covered = {k: block.get(k) for k in ("_id", "first", "entries", "low_water", "prev")}
    return hmac.new(config.audit_key(), canonical_json(covered).encode(), hashlib.sha256).hexdigest()


class Sequencer:
    """Numbers a store's committed events in the order it finds them; `run_once` is one pass.

    It reads what lies beyond the highest position it has seen, plus the positions it saw missing (an append still
    committing lands there later); `low_water` is the position below which nothing is missing any more."""

    def __init__(self, store: EventStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.clock = store, clock
        self.blocks = store.db[COLLECTION]
        self.lost = False  # the last pass found another sequencer's block in its place
        self.reload()

    @staticmethod
    def ensure_indexes(store: EventStore) -> None:
        store.db[COLLECTION].create_index([("top", 1)])

    def reload(self) -> None:
        """Take up the chain where the newest block left it (after a start, or after another sequencer's block)."""
        last = self.blocks.find_one(sort=[("_id", -1)])
        self.number = last["_id"] if last else 0
        self.next_seq = last["first"] + len(last["entries"]) if last else 1
        self.prev = last["mac"] if last else GENESIS_HASH
        self.low_water = last["low_water"] if last else 0
        # Above the low-water position, only blocks reaching above it hold sequenced events: what they do not hold
        # up to the highest of them is missing (each gap's clock starts again now).
        above = {entry[3] for block in self.blocks.find({"top": {"$gt": self.low_water}}, {"entries": 1})
                 for entry in block["entries"] if entry[3] > self.low_water}
        self.highest = max(above, default=self.low_water)
        now = self.clock()
        self._missing = {p: now for p in range(self.low_water + 1, self.highest) if p not in above}

    def run_once(self) -> int:
        """Sequence the committed events not sequenced yet; returns how many (0 when another sequencer won)."""
        late = list(self.store.events.find(_within(sorted(self._missing)), FIELDS)) if self._missing else []
        new = list(self.store.events.find({"position": {"$gt": self.highest}}, FIELDS)
                   .sort("position", 1).limit(PASS_LIMIT))
        fresh = sorted(late + new, key=lambda d: d["position"])
        self.lost = False
        missing, highest = self._still_missing(late, new)
        low_water = min(missing) - 1 if missing else highest
        if fresh:
            block = {"_id": self.number + 1, "first": self.next_seq, "low_water": low_water, "prev": self.prev,
                     "entries": [[d["_id"], d["stream"], d["version"], d["position"], d["hash"]] for d in fresh],
                     "top": fresh[-1]["position"]}
            block["mac"] = block_mac(block)
            try:
                self.blocks.insert_one(block)
            except DuplicateKeyError:
                self.reload()  # another replica's sequencer took this number: follow its chain
                self.lost = True
                return 0
            self.number, self.next_seq, self.prev = block["_id"], self.next_seq + len(fresh), block["mac"]
        self._missing, self.highest, self.low_water = missing, highest, low_water
        return len(fresh)

    def _still_missing(self, late: list[dict], new: list[dict]) -> tuple[dict[int, float], int]:
        """The positions still missing after this pass (those missing for VOID_AFTER passed over), and the highest
        position seen."""
        now, highest = self.clock(), self.highest
        missing = {p: t for p, t in self._missing.items() if now - t < VOID_AFTER}
        for doc in late:
            missing.pop(doc["position"], None)
        for doc in new:
            missing.update((p, now) for p in range(highest + 1, doc["position"]))
            highest = doc["position"]
        return missing, highest


def _within(positions: list[int]) -> dict:
    """A query for these positions. `$in` on the position index: an `$or` of ranges would do the same on MongoDB,
    but the local stand-in scans the whole collection for any `$or` (0.6 s a pass at 30,000 events, measured), and
    a gap keeps being looked up every pass for VOID_AFTER."""
    return {"position": {"$in": positions}}


def newest_block(store: EventStore) -> dict | None:
    """{block, mac} of the newest block (for a checkpoint kept outside the database), None before the first."""
    last = store.db[COLLECTION].find_one(sort=[("_id", -1)], projection={"mac": 1})
    return {"block": last["_id"], "mac": last["mac"]} if last else None


def holds_block(store: EventStore, kept: dict) -> bool:
    """Whether the block a checkpoint kept is still there, unchanged."""
    block = store.db[COLLECTION].find_one({"_id": kept["block"]}, {"mac": 1})
    return block is not None and hmac.compare_digest(str(block["mac"]), str(kept["mac"]))


def check(store: EventStore, now: datetime | None = None) -> list[dict]:
    """What breaks the sequence: blocks missing, renumbered, altered or forged, sequenced events deleted or changed,
    events below the low-water position that were never sequenced. [] when intact."""
    state: dict | None = start_check(store)
    broken: list[dict] = []
    while state is not None:
        found, state = check_page(store, state, now=now)
        broken += found
    return broken


def start_check(store: EventStore) -> dict:
    """The state of a (paged) sequence check: the newest block as of now is the last one it reads. `stored` is
    left None (counted at the end) unless the caller counts the stored events below `low_water` itself."""
    newest = store.db[COLLECTION].find_one(sort=[("_id", -1)], projection={"_id": 1, "low_water": 1})
    return {"newest": newest["_id"] if newest else None, "low_water": newest["low_water"] if newest else 0,
            "read": 0, "number": 0, "seq": 1, "prev": GENESIS_HASH, "sequenced": 0, "stored": None}


def check_page(store: EventStore, state: dict, budget: int | None = None, deadline: float | None = None,
               now: datetime | None = None) -> tuple[list[dict], dict | None]:
    """Check the blocks after `state` until about `budget` entries are read or `deadline` (time.monotonic())
    passes; returns what breaks and the next state, None once the check is complete. Each read is a bounded range of
    block numbers, so a page costs what it reads, whatever the length of the sequence."""
    if state["newest"] is None:
        return _never_sequenced(store, now), None
    state, broken, entries = dict(state), [], 0
    while state["read"] < state["newest"]:
        if (budget is not None and entries >= budget) or (deadline is not None and time.monotonic() >= deadline):
            return broken, state
        upper = state["newest"] if budget is None else min(state["newest"], state["read"] + BLOCKS_PER_READ)
        batch: list[tuple[int, list]] = []
        for block in store.db[COLLECTION].find({"_id": {"$gt": state["read"], "$lte": upper}}).sort("_id", 1):
            if block["_id"] != state["number"] + 1 or block["first"] != state["seq"] or block["prev"] != state["prev"]:
                broken.append(_item(None, "sequence_broken", seq=state["seq"]))
            if not hmac.compare_digest(block_mac(block), str(block.get("mac", ""))):
                broken.append(_item(None, "sequence_block_altered", seq=block["first"]))
            state.update(number=block["_id"], seq=block["first"] + len(block["entries"]), prev=block["mac"])
            batch += [(block["first"] + i, entry) for i, entry in enumerate(block["entries"])]
        state["read"], entries = upper, entries + len(batch)
        for i in range(0, len(batch), CHECK_BATCH):
            part = batch[i:i + CHECK_BATCH]
            problems = _check_entries(store, part)
            broken += problems
            # Of those below the low-water mark, the ones deleted are reported here: what is left to compare is what
            # is still stored.
            state["sequenced"] += sum(1 for _, entry in part if entry[3] <= state["low_water"]) - sum(
                1 for item in problems if item["reason"] == "sequenced_event_missing"
                and item["position"] <= state["low_water"])
    stored = state["stored"]
    if stored is None:
        stored = store.events.count_documents({"position": {"$lte": state["low_water"]}})
    if stored != state["sequenced"]:
        broken.append(_item(None, "events_not_sequenced", stored=stored, sequenced=state["sequenced"]))
    return broken, None


def _never_sequenced(store: EventStore, now: datetime | None) -> list[dict]:
    """No block at all: fine for a young log (the sequencer has not passed yet), not when events are old."""
    cutoff = ((now or datetime.now(UTC)) - STALE).isoformat(timespec="milliseconds")
    if store.events.find_one({"meta.occurred_at": {"$lt": cutoff}}, {"_id": 1}) is None:
        return []
    return [_item(None, "events_not_sequenced", stored=store.count(), sequenced=0)]


def _check_entries(store: EventStore, batch: list[tuple[int, list]]) -> list[dict]:
    if not batch:
        return []
    # Read by runs of positions, which the log indexes: the local stand-in tests each event it finds against every
    # value of an `$in` list (the audit of a 20,000-event log took 16-22 s this way, ~1 ms an event). What is not
    # found at its position is then looked up by id, so a moved event still reads as changed, not missing.
    found: dict = {}
    for low, high in _runs(sorted(entry[3] for _, entry in batch)):
        found.update((d["_id"], d) for d in store.events.find({"position": {"$gte": low, "$lte": high}}, FIELDS))
    lost = [entry[0] for _, entry in batch if entry[0] not in found]
    if lost:
        found.update({d["_id"]: d for d in store.events.find({"_id": {"$in": lost}}, FIELDS)})
    problems = []
    for seq, (event_id, stream, version, position, digest) in batch:
        doc = found.get(event_id)
        if doc is None:
            problems.append(_item((stream, version), "sequenced_event_missing", seq=seq, position=position))
        elif (doc["stream"], doc["version"], doc["position"], doc["hash"]) != (stream, version, position, digest):
            problems.append(_item((stream, version), "sequenced_event_changed", seq=seq))
    return problems


def _runs(positions: list[int], gap: int = RUN_GAP) -> list[tuple[int, int]]:
    """Sorted positions as (first, last) runs, a new run wherever the next position is more than `gap` on."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


def _item(where: tuple[str, int] | None, reason: str, **detail: object) -> dict:
    stream, version = where or (None, None)
    return {"stream": stream, "version": version, "reason": reason, **detail}
