"""Global positions handed out from blocks reserved on the store's position counter (issue 15: an append's cost).

Every append needs global positions. Reserving them append by append costs a round trip and a commit on the store,
as dear as the append's own insert. A process reserves a block instead and hands its positions out in order. The
block is sized to last about BLOCK_SPAN at the rate the process has been appending: one position when it appends
now and then, up to BLOCK_MAX under load. No position is handed out more than BLOCK_TTL after its block was
reserved, so every position is used or given up long before the sequencer stops waiting for a missing one and
before the checkpoint's settled horizon (both 120 s).

What a block gives up, and what it keeps:
- Positions follow commit order across a service's processes to within BLOCK_TTL, no longer to within one
  transaction; within one process they still follow the order of the appends.
- A block's remainder at its deadline is a gap, as an aborted append's positions always were.
- Within a stream order is kept: an append after an event whose position is not below the block's next position
  (an event another process appended) reserves a new block, as does an append whose caller does not know the
  position of the event it follows.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pymongo
from pymongo.collection import Collection

BLOCK_TTL = 2.0  # seconds after its reservation a block's positions may still be handed out
BLOCK_SPAN = 0.25  # seconds a block should last at the recent rate
BLOCK_MAX = 64
COUNTER_ID = "position"


class PositionBlocks:
    """This process's supply of global positions: `take(count, above)` gives the first of `count` consecutive
    positions, all greater than `above` (None: the caller does not know what they must exceed)."""

    def __init__(self, counters: Collection, clock: Callable[[], float] = time.monotonic,
                 max_size: int = BLOCK_MAX) -> None:
        self.counters, self.clock, self.max_size = counters, clock, max_size
        self.reservations = 0  # round trips to the counter, for tests and metrics
        self._lock = threading.Lock()
        self._first, self._next, self._last = 1, 1, 0  # the block: _first .. _last, not handed out yet: _next ..
        self._reserved_at = float("-inf")
        self._rate = 0.0  # positions handed out per second, smoothed over the last blocks

    def take(self, count: int, above: int | None = 0) -> int:
        """The first of `count` new positions; each is greater than `above` and than every position taken before."""
        with self._lock:
            now = self.clock()
            # above None: the stream's head may sit anywhere, so only a new block is surely above it
            usable = (above is not None and self._next > above and self._next + count - 1 <= self._last
                      and now - self._reserved_at < BLOCK_TTL)
            if not usable:
                self._refill(count, now)
            first = self._next
            self._next += count
            return first

    def _refill(self, count: int, now: float) -> None:
        """Reserve the next block, sized from the rate at which the last one was used."""
        lasted = max(min(now - self._reserved_at, BLOCK_TTL), 1e-3)
        handed = self._next - self._first
        self._rate = 0.5 * self._rate + 0.5 * (handed / lasted)
        size = max(count, min(self.max_size, round(self._rate * BLOCK_SPAN)))
        self._last = self._reserve(size)
        self._first = self._next = self._last - size + 1
        self._reserved_at = now

    def _reserve(self, size: int) -> int:
        """One atomic increment of the counter; returns the last position reserved."""
        counter = self.counters.find_one_and_update(
            {"_id": COUNTER_ID}, {"$inc": {"value": size}}, return_document=pymongo.ReturnDocument.AFTER)
        if counter is None:
            raise RuntimeError("event store not initialised: call ensure_indexes() first")
        self.reservations += 1
        return counter["value"]
