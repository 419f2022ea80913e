"""The leased retry queue against SecantusDB: one claim per due item, leases expire, the longest waiting first."""
from __future__ import annotations

import pytest

from pupns import retry_queue
from pupns.retry_queue import Backoff, RetryQueue

NOW = 1_800_000_000.0


@pytest.fixture
def queue(mongo_client, db_prefix):
    collection = mongo_client[db_prefix + "queue"]["items"]
    rows = [{"_id": "late", "state": "pending", **retry_queue.enqueued(NOW - 5)},
            {"_id": "early", "state": "pending", **retry_queue.enqueued(NOW - 50)},
            {"_id": "future", "state": "pending", **retry_queue.enqueued(NOW + 60)},
            {"_id": "done", "state": "done", **retry_queue.enqueued(NOW - 100)}]
    collection.insert_many(rows)
    return RetryQueue(collection, {"state": "pending"}, lease_seconds=30)


def test_due_items_come_longest_waiting_first(queue):
    assert queue.due_ids(10, now=NOW) == ["early", "late"]
    assert queue.due_ids(1, now=NOW) == ["early"]


def test_a_claim_holds_the_item_until_its_lease_ends(queue):
    assert queue.claim("early", now=NOW)["_id"] == "early"
    assert queue.claim("early", now=NOW + 1) is None  # held by the first claim
    assert queue.due_ids(10, now=NOW + 1) == ["late"]
    assert queue.claim("early", now=NOW + 31)["_id"] == "early"  # the claimer died: its lease expired
    assert queue.claim("future", now=NOW) is None and queue.claim("done", now=NOW) is None


def test_a_scheduled_item_is_due_again_at_its_next_attempt(queue):
    queue.claim("early", now=NOW)
    queue.collection.update_one({"_id": "early"}, {"$set": retry_queue.scheduled(NOW + 10)})
    assert queue.due_ids(10, now=NOW + 1) == ["late"]
    assert queue.due_ids(10, now=NOW + 10) == ["late", "early"]


def test_a_pass_stops_after_an_outcome_that_says_so(queue):
    tried: list[str] = []

    def attempt(item_id: str) -> str:
        tried.append(item_id)
        return "down"

    assert queue.drain(attempt, 10, stop=lambda outcome: outcome == "down", now=NOW) == ["down"]
    assert tried == ["early"]
    assert queue.drain(lambda item_id: "sent", 10, now=NOW) == ["sent", "sent"]


def test_backoff_doubles_from_the_base_up_to_the_cap():
    assert [Backoff(2, 60).delay(n) for n in (0, 1, 2, 3, 5, 10)] == [2, 2, 4, 8, 32, 60]
