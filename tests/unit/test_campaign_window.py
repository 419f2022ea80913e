"""The campaign window kept by a service process (pupns.campaign.WindowCache)."""
from __future__ import annotations

from pupns.campaign import WindowCache

OPEN = {"_id": "current", "opens_at": "2015-09-01T00:00:00+07:00", "closes_at": "2015-12-31T23:59:00+07:00"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """A read model that counts its reads."""

    def __init__(self, window: dict | None) -> None:
        self.window, self.count = window, 0

    def __call__(self) -> dict | None:
        self.count += 1
        return None if self.window is None else dict(self.window)


def test_a_window_is_read_once_per_ttl_and_each_caller_gets_its_own_copy():
    clock, reads = Clock(), Reads(OPEN)
    cache = WindowCache(ttl=1.0, clock=clock)
    first = cache.get("db", reads)
    first["closes_at"] = "changed by a caller"
    clock.now += 0.9
    assert cache.get("db", reads) == OPEN and reads.count == 1
    clock.now += 0.2
    reads.window = {**OPEN, "closes_at": "2016-01-31T23:59:00+07:00"}
    assert cache.get("db", reads)["closes_at"] == "2016-01-31T23:59:00+07:00" and reads.count == 2


def test_no_window_is_never_kept_and_a_change_stored_here_is_seen_at_once():
    clock, reads = Clock(), Reads(None)
    cache = WindowCache(ttl=1.0, clock=clock)
    assert cache.get("db", reads) is None
    reads.window = OPEN  # scheduled: seen on the next call
    assert cache.get("db", reads) == OPEN and reads.count == 2
    reads.window = {**OPEN, "closes_at": "2015-10-01T00:00:00+07:00"}
    cache.forget("db")  # the projection that stored the change
    assert cache.get("db", reads)["closes_at"] == "2015-10-01T00:00:00+07:00" and reads.count == 3


def test_each_database_keeps_its_own_window():
    cache, a, b = WindowCache(ttl=60.0, clock=Clock()), Reads(OPEN), Reads({**OPEN, "opens_at": "2016-01-01"})
    assert cache.get("a", a)["opens_at"] != cache.get("b", b)["opens_at"]
