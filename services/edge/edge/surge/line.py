"""The waiting line: the live tickets, ordered by place, shared by every edge process and replica.

Each process knows exactly the holders it turned away (its part of the line). Every sync it publishes that part
to the edge's MongoDB (the first HEAD_EXACT places exactly, where order decides who enters; the rest as counts
per 100 ms of issue time, where only the length of the wait depends on it) and reads the other processes' parts:
at most one write and one read per process per sync, whatever the crowd (an idle process only keeps its part
live: edge.surge.admission). A part travels as a few packed arrays of little-endian numbers (`Packed`), not as
hundreds of small BSON arrays: under a flood it changes every sync, and a store that parsed and indexed
~1,000 values per write spent more on the line than on the registrations it was protecting (measured: 23 ms of
the store's time per registration at 10x, more than the registration's own events).

A holder who does not come back by `due` + the grace drops out of the part that holds it, so a crowd that has gone
(abandoned tabs, bots) leaves the line within seconds and never keeps anyone waiting behind it.
"""
from __future__ import annotations

import heapq
import itertools
import sys
import threading
from array import array
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass, field

from edge.surge.tickets import KEYS_PER_SECOND, Ticket

BUCKET = KEYS_PER_SECOND // 10  # 100 ms of issue time per bucket of a part's tail
HEAD_EXACT = 256  # places at the front of each part that are shared exactly
ADMITTED_MEMORY_SECONDS = 30.0  # how long a process tells the others which holders it let in


@dataclass
class Entry:
    """One holder this process turned away: place, when last seen and when no longer live, whether it came back."""

    key: int
    seen: float
    expires: float
    returned: bool


class Line:
    """This process's part of the line (exact) plus the other processes' parts (as of the last sync)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.processes = 1
        self._entries: dict[str, Entry] = {}
        self._order: list[tuple[int, str]] = []  # (key, nonce), sorted: the local part in line order
        self._expiry: list[tuple[float, str]] = []  # heap of (expires, nonce); stale items are skipped
        self._by_key: dict[int, str] = {}
        self._per_bucket: dict[int, int] = {}  # local holders per BUCKET of issue time, head included
        self._admitted: deque[tuple[float, int]] = deque()  # (when, key) of holders let in here
        self._others = Others()
        self._lock = threading.Lock()

    # -- this process's part --------------------------------------------------------------------
    def wait(self, ticket: Ticket, returned: bool, now: float) -> None:
        """Record (or refresh) a holder turned away at `now` and told to come back at `ticket.due`."""
        expires = ticket.due + self.grace
        with self._lock:
            entry = self._entries.get(ticket.nonce)
            if entry is None:
                self._entries[ticket.nonce] = Entry(ticket.key, now, expires, returned)
                self._by_key[ticket.key] = ticket.nonce
                insort(self._order, (ticket.key, ticket.nonce))
                _count(self._per_bucket, ticket.key, 1)
            else:
                entry.seen, entry.expires = max(entry.seen, now), max(entry.expires, expires)
                entry.returned = entry.returned or returned
            heapq.heappush(self._expiry, (expires, ticket.nonce))

    def leave(self, ticket: Ticket, now: float) -> None:
        """The holder was let in: no longer waiting (here, and in the other parts after the next sync)."""
        with self._lock:
            self._remove(ticket.nonce)
            self._admitted.append((now, ticket.key))
            while self._admitted and self._admitted[0][0] < now - ADMITTED_MEMORY_SECONDS:
                self._admitted.popleft()

    def prune(self, now: float) -> int:
        """Drop holders who did not come back in time; returns how many left the line."""
        dropped = 0
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, nonce = heapq.heappop(self._expiry)
                entry = self._entries.get(nonce)
                if entry is not None and entry.expires < now:
                    self._remove(nonce)
                    dropped += 1
        return dropped

    def _remove(self, nonce: str) -> None:
        entry = self._entries.pop(nonce, None)
        if entry is not None:
            self._by_key.pop(entry.key, None)
            _count(self._per_bucket, entry.key, -1)
            index = bisect_left(self._order, (entry.key, nonce))
            if index < len(self._order) and self._order[index] == (entry.key, nonce):
                del self._order[index]

    # -- the whole line ---------------------------------------------------------------------------
    def ahead(self, ticket: Ticket) -> int:
        """How many live holders, in every process, are before this ticket."""
        with self._lock:
            local = bisect_left(self._order, (ticket.key, ticket.nonce))
        return local + self._others.ahead(ticket.key)

    def waiting(self) -> int:
        """Every live holder in line."""
        return len(self._entries) + self._others.total

    def returning_at_head(self, window: int) -> int:
        """Holders among the first `window` of the line who have come back at least once (live people, not
        abandoned tabs): the places kept free for them."""
        with self._lock:
            local = [(key, self._entries[nonce].returned) for key, nonce in self._order[:window]]
        others = self._others
        merged = heapq.merge(local, zip(others.keys[:window], others.returned[:window], strict=True))
        first = itertools.islice(itertools.groupby(merged, key=lambda item: item[0]), window)
        return sum(any(returned for _, returned in group) for _, group in first)

    # -- sharing --------------------------------------------------------------------------------
    def part(self) -> dict:
        """This process's part, packed (`Packed`): the first HEAD_EXACT places exactly (key, returned, seen), the
        rest as holders per BUCKET of issue time, and the keys of holders let in here lately.

        Its cost does not grow with the line: the holders per bucket are kept as holders come and go, so a sync
        reads the head and ~10 buckets per second of waits told, never every holder. (It walked every holder, and
        absorb() did too: a flood of newcomers told to come back in up to a minute keeps ~10,000 in each process's
        part, and a sync cost ~5 ms of the edge's CPU there against ~0.3 ms now, measured in one process.)"""
        with self._lock:
            head = [(key, self._entries[nonce]) for key, nonce in self._order[:HEAD_EXACT]]
            tail = dict(self._per_bucket)
            admitted = [key for _, key in self._admitted]
        for key, _ in head:
            _count(tail, key, -1)
        buckets = sorted(tail)
        return Packed(keys=[key for key, _ in head], returned=[entry.returned for _, entry in head],
                      seen=[entry.seen for _, entry in head], buckets=buckets,
                      waiting=[tail[b] for b in buckets], admitted=admitted).encode()

    def absorb(self, documents: list[dict]) -> None:
        """Take the other processes' parts (from the last sync). A holder let in elsewhere, or seen elsewhere
        more recently (they came back to another process), leaves this part: each holder is counted once."""
        parts = [Packed.decode(document) for document in documents]
        with self._lock:  # let in here or elsewhere: the other parts may not have heard of it yet
            admitted = {key for _, key in self._admitted}.union(*(part.admitted for part in parts))
        seen_elsewhere: dict[int, float] = {}
        for part in parts:
            for key, seen in zip(part.keys, part.seen, strict=True):
                seen_elsewhere[key] = max(seen, seen_elsewhere.get(key, 0.0))
        with self._lock:  # only those keys can leave: look them up rather than walk every holder here
            for key in admitted.union(seen_elsewhere):
                nonce = self._by_key.get(key)
                if nonce is not None and (key in admitted or seen_elsewhere.get(key, 0.0) > self._entries[nonce].seen):
                    self._remove(nonce)
        self._others = Others.merge(parts, admitted)
        self.processes = 1 + len(parts)


def _count(per_bucket: dict[int, int], key: int, change: int) -> None:
    """Add `change` holders to the bucket of `key`; an emptied bucket goes."""
    bucket = key // BUCKET * BUCKET
    left = per_bucket.get(bucket, 0) + change
    if left:
        per_bucket[bucket] = left
    else:
        per_bucket.pop(bucket, None)


@dataclass
class Packed:
    """A part of the line as it is stored: each list one packed array ("k" keys, "t" returned flags, "s" seen at,
    "b" tail buckets, "w" holders per bucket, "a" keys let in lately). A document of another shape (a process of
    an older version during a rolling deploy) reads as an empty part."""

    keys: list[int] = field(default_factory=list)
    returned: list[bool] = field(default_factory=list)
    seen: list[float] = field(default_factory=list)
    buckets: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    admitted: list[int] = field(default_factory=list)

    FIELDS = (("k", "keys", "q"), ("t", "returned", "b"), ("s", "seen", "d"), ("b", "buckets", "q"),
              ("w", "waiting", "q"), ("a", "admitted", "q"))

    def encode(self) -> dict:
        return {name: _pack(code, getattr(self, attribute)) for name, attribute, code in self.FIELDS}

    @classmethod
    def decode(cls, document: dict) -> Packed:
        try:
            values = {attribute: _unpack(code, document.get(name, b"")) for name, attribute, code in cls.FIELDS}
            values["returned"] = [bool(flag) for flag in values["returned"]]
            part = cls(**values)
        except (TypeError, ValueError):
            return cls()
        if len(part.keys) != len(part.seen) or len(part.keys) != len(part.returned) \
                or len(part.buckets) != len(part.waiting):
            return cls()
        return part


def _pack(code: str, values: list) -> bytes:
    packed = array(code, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack(code: str, data: bytes) -> list:
    packed = array(code)
    packed.frombytes(bytes(data))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


@dataclass
class Others:
    """The other processes' parts, merged and replaced whole at each sync (readers never see half of one)."""

    keys: list[int] = field(default_factory=list)  # exact places, sorted
    returned: list[bool] = field(default_factory=list)  # per exact place
    buckets: list[int] = field(default_factory=list)  # tail bucket starts, sorted
    before: list[int] = field(default_factory=lambda: [0])  # tail holders in the buckets before index i
    total: int = 0

    def ahead(self, key: int) -> int:
        return bisect_left(self.keys, key) + self.before[bisect_left(self.buckets, key // BUCKET * BUCKET)]

    @classmethod
    def merge(cls, parts: list[Packed], admitted: set[int]) -> Others:
        returned_by_key: dict[int, bool] = {}
        for part in parts:
            for key, returned in zip(part.keys, part.returned, strict=True):
                if key not in admitted:
                    returned_by_key[key] = returned_by_key.get(key, False) or returned
        keys = sorted(returned_by_key)
        tail: dict[int, int] = {}
        for part in parts:
            for bucket, waiting in zip(part.buckets, part.waiting, strict=True):
                tail[bucket] = tail.get(bucket, 0) + waiting
        buckets = sorted(tail)
        before = list(itertools.accumulate((tail[b] for b in buckets), initial=0))
        return cls(keys, [returned_by_key[key] for key in keys], buckets, before, len(keys) + before[-1])
