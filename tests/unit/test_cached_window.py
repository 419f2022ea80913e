"""The campaign window as a process last read it: every registration and save asks whether the campaign is open,
and reads the store for it at most once a second, except right after the window changed."""
from __future__ import annotations

from pupns.campaign import CachedWindow
from tests.clock import Clock

OPEN = {"opens_at": "2015-09-01T00:00:00+07:00", "closes_at": "2015-12-31T00:00:00+07:00"}
CLOSED = {**OPEN, "closes_at": "2015-09-02T00:00:00+07:00"}


class Store:
    def __init__(self, window):
        self.window, self.reads = window, 0

    def read(self):
        self.reads += 1
        return self.window


def test_asks_within_the_ttl_are_answered_from_the_last_read_and_a_later_ask_reads_again():
    clock, store = Clock(), Store(OPEN)
    cache = CachedWindow(ttl=1.0, clock=clock)
    assert [cache.get(store.read) for _ in range(5)] == [OPEN] * 5 and store.reads == 1
    store.window = CLOSED  # changed through another process: seen once the ttl has passed
    clock.now += 0.9
    assert cache.get(store.read) == OPEN
    clock.now += 0.1
    assert cache.get(store.read) == CLOSED and store.reads == 2


def test_a_change_seen_by_this_process_is_read_at_once_and_afresh_for_a_ttl_after_it():
    clock, store = Clock(), Store(OPEN)
    cache = CachedWindow(ttl=1.0, clock=clock)
    assert cache.get(store.read) == OPEN
    cache.forget()  # the projection, inside the append's transaction: the change is not committed yet
    assert cache.get(store.read) == OPEN  # a read before the commit...
    store.window = CLOSED
    clock.now += 0.01
    assert cache.get(store.read) == CLOSED  # ...is not kept
    reads = store.reads
    clock.now += 1.0
    assert cache.get(store.read) == CLOSED and cache.get(store.read) == CLOSED and store.reads == reads + 1
