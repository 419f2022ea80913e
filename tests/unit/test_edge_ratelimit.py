"""Rate limits held across edge processes: local buckets first, a shared window synchronised off the request path."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from pymongo.errors import AutoReconnect

from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore, MongoEdgeStore
from edge.surge.ratelimit import Limiter
from pupns.errors import AppError
from tests.clock import Clock

WINDOW_START = 1_700_000_000.0  # a multiple of the 10 s window
NIP = "199001012015031001"


def limiter(store, clock, **settings) -> Limiter:
    values = {"user_rate": 1.0, "user_burst": 20.0, "login_rate": 0.1, "login_burst": 3.0, "rate_window": 10,
              "background": False, **settings}
    return Limiter(Settings(**values), store, wall=clock, monotonic=clock)


def allowed(check, key: str) -> bool:
    try:
        check(key)
    except AppError as exc:
        assert exc.code == "rate_limited"
        return False
    return True


class FailingStore:
    """A store whose MongoDB is gone."""

    def add_hits(self, window, hits, expires_at):
        raise AutoReconnect("connection refused")

    def at_limit(self, window, allowance):
        raise AutoReconnect("connection refused")


def test_the_local_bucket_refuses_a_burst_without_waiting_for_a_sync():
    clock = Clock(WINDOW_START)
    store = MemoryEdgeStore(clock)
    limits = limiter(store, clock, user_burst=3.0, user_rate=0.01)
    assert [allowed(limits.check_user, NIP) for _ in range(4)] == [True, True, True, False]
    assert store.windows == {}  # nothing reached the store on the request path


def test_two_processes_sharing_a_store_let_through_no_more_than_the_allowance():
    clock = Clock(WINDOW_START)
    store = MemoryEdgeStore(clock)
    a, b = limiter(store, clock), limiter(store, clock)
    allowance = a.user_window.allowance
    assert allowance == 30  # 1/s × 10 s + 20
    let_through = 0
    for _ in range(10):  # 5 s of a user sending 4 requests per half second, spread over both processes
        let_through += sum(allowed(process.check_user, NIP) for process in (a, b, a, b))
        a.sync()
        b.sync()
        clock.now += 0.5
    # Alone, each process's bucket would have let 20 + 5 through (50 together); one sync round is 4 requests.
    assert allowance <= let_through <= allowance + 4
    assert not allowed(a.check_user, NIP) and not allowed(b.check_user, NIP)
    assert allowed(a.check_user, "199001012015031002")  # other users are not held back


def test_a_blocked_key_gets_rate_limited_with_seconds_until_the_window_ends():
    clock = Clock(WINDOW_START)
    store = MemoryEdgeStore(clock)
    a, b = limiter(store, clock), limiter(store, clock)
    assert a.login_window.allowance == 4  # 0.1/s × 10 s + 3
    assert allowed(a.check_login, "Budi ") and allowed(a.check_login, "budi")
    a.sync()
    assert allowed(b.check_login, "BUDI") and allowed(b.check_login, "budi")  # the same username elsewhere
    b.sync()
    a.sync()
    clock.now += 3.2
    with pytest.raises(AppError) as refused:
        a.check_login("budi")  # a's bucket still has a token: the shared window refuses
    assert refused.value.code == "rate_limited" and refused.value.extra == {"retry_after": 7}
    clock.now = WINDOW_START + 9.9
    with pytest.raises(AppError) as last_moment:
        b.check_login("budi")
    assert last_moment.value.extra == {"retry_after": 1}
    assert allowed(a.check_login, "someone-else")


def test_the_next_window_unblocks_the_key_without_a_sync():
    clock = Clock(WINDOW_START)
    store = MemoryEdgeStore(clock)
    a, b = limiter(store, clock, login_rate=1.0), limiter(store, clock, login_rate=1.0)
    for _ in range(13):  # the allowance: 1/s × 10 s + 3
        assert allowed(a.check_login, "budi") or allowed(b.check_login, "budi")
        clock.now += 0.4
        a.sync()
        b.sync()
    a.sync()  # the last request may have been b's, flushed after a read the window
    assert clock.now < WINDOW_START + 10
    assert not allowed(a.check_login, "budi") and not allowed(b.check_login, "budi")
    clock.now = WINDOW_START + 10.0
    assert allowed(a.check_login, "budi") and allowed(b.check_login, "budi")


def test_a_store_failure_during_sync_keeps_the_local_limits_working():
    clock = Clock(WINDOW_START)
    limits = limiter(FailingStore(), clock, user_burst=2.0, user_rate=0.01)
    assert allowed(limits.check_user, NIP)
    limits.sync()  # logs, does not raise
    assert limits.sync_failures == 1
    assert [allowed(limits.check_user, NIP) for _ in range(2)] == [True, False]  # the bucket still holds
    assert allowed(limits.check_user, "199001012015031002")  # and nobody else is refused
    limits.sync()
    assert limits.sync_failures == 1  # backing off: no timeout on the monitor thread every tick


def test_a_key_blocked_before_the_store_failed_stays_blocked_until_its_window_ends():
    clock = Clock(WINDOW_START)
    store = MemoryEdgeStore(clock)
    a, b = limiter(store, clock), limiter(store, clock)
    assert allowed(a.check_login, "budi") and allowed(a.check_login, "budi")
    assert allowed(b.check_login, "budi") and allowed(b.check_login, "budi")
    a.sync()
    b.sync()
    a.sync()
    a.store = FailingStore()
    clock.now += 1.0
    a.sync()
    assert a.sync_failures == 1 and not allowed(a.check_login, "budi")
    clock.now = WINDOW_START + 10.0
    assert allowed(a.check_login, "budi")


class FlakyCollection:
    """Fails its first replace as a store that went away does; records the rest."""

    def __init__(self):
        self.writes = []

    def replace_one(self, selector, document, upsert=False):
        self.writes.append((selector, document, upsert))
        if len(self.writes) == 1:
            raise AutoReconnect("store away")


def test_a_writers_counts_are_one_document_per_window_and_a_failed_write_s_hits_go_with_the_next():
    store = MongoEdgeStore("mongodb://127.0.0.1:1/?directConnection=true")  # never connects
    store._indexed = True
    store.rate_windows = FlakyCollection()
    expires = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(AutoReconnect):
        store.add_hits("u:1700000000", {"a": 2, "b": 3}, expires)
    store.add_hits("u:1700000000", {"a": 1}, expires)
    _, (selector, document, upsert) = store.rate_windows.writes
    assert selector == {"_id": f"u:1700000000|{store.writer}"} and upsert
    assert document["w"] == "u:1700000000" and document["expires_at"] == expires
    assert json.loads(document["c"]) == {"a": 3, "b": 3}
