"""The leased retry queue: work items (read-model rows) tried until done, one worker at a time, with backoff.

Used by documents (e-Meterai stamping of statements) and notifications (e-mail delivery). A row is due when it
matches the queue's `pending` filter, its `next_attempt_at` (epoch seconds) has passed and nobody holds its
lease. A worker claims one row atomically by setting `lease_until`; a crashed worker's claim simply expires.
The outcome of a try is an event; the service's projector writes the row's next state in the event's own
transaction with `scheduled` / `released` below, so a replay of the log rebuilds the queue exactly.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the domain imports Backoff: no pymongo at import time
    from pymongo.collection import Collection

T = TypeVar("T")
LEASE_SECONDS = 60.0
# A retry loop polls at its interval while passes find work, and backs off to this while they find none
# (pupns.polling): a retry may come up to this much after its `next_attempt_at`.
POLL_CEILING_SECONDS = 8.0


@dataclass(frozen=True)
class Backoff:
    """Exponential schedule: `base` seconds after the first failure, doubling, never above `cap`."""

    base: float
    cap: float

    def delay(self, attempt: int) -> float:
        """Seconds before the next try after `attempt` failures."""
        return min(self.cap, self.base * 2 ** max(0, attempt - 1))


def enqueued(at: float) -> dict[str, float]:
    """Queue fields of a new item, due at `at`."""
    return {"next_attempt_at": at, "lease_until": 0.0}


def scheduled(next_attempt_at: float) -> dict[str, float]:
    """Queue fields after a failed try: free again, due at `next_attempt_at`."""
    return {"next_attempt_at": next_attempt_at, "lease_until": 0.0}


def released() -> dict[str, float]:
    """Queue fields after a try that ended the item's retries (it also leaves `pending`)."""
    return {"lease_until": 0.0}


class RetryQueue:
    """Due rows of one collection, claimed with a lease (longer than one try) so each is tried by one worker."""

    def __init__(self, collection: Collection, pending: Mapping[str, Any], lease_seconds: float = LEASE_SECONDS):
        self.collection, self.pending, self.lease_seconds = collection, dict(pending), lease_seconds

    def _due(self, now: float) -> dict[str, Any]:
        return {**self.pending, "next_attempt_at": {"$lte": now}, "lease_until": {"$lt": now}}

    def claim(self, item_id: str, now: float | None = None) -> dict | None:
        """The item's row, leased to the caller, if it is due and free; None otherwise."""
        now = time.time() if now is None else now
        return self.collection.find_one_and_update({"_id": item_id, **self._due(now)},
                                                   {"$set": {"lease_until": now + self.lease_seconds}})

    def due_ids(self, limit: int, now: float | None = None) -> list[str]:
        """Ids of due items, the longest waiting first."""
        now = time.time() if now is None else now
        rows = self.collection.find(self._due(now), {"_id": 1}).sort("next_attempt_at", 1).limit(limit)
        return [row["_id"] for row in rows]

    def drain(self, attempt: Callable[[str], T], limit: int, stop: Callable[[T], bool] = lambda outcome: False,
              now: float | None = None) -> list[T]:
        """One pass: `attempt(id)` for each due item in order, ending early after an outcome that `stop` accepts
        (e.g. the outside system is down: one probe per pass instead of the whole backlog)."""
        outcomes = []
        for item_id in self.due_ids(limit, now):
            outcome = attempt(item_id)
            outcomes.append(outcome)
            if stop(outcome):
                break
        return outcomes
