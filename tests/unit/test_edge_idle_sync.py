"""An idle edge process costs the store nothing: rate windows and line parts are synced only when they can matter,
and never at the cost of the cross-process bounds (edge.surge.ratelimit's header, the line's freshness)."""
from __future__ import annotations

import datetime as dt

import pytest

from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from edge.surge.admission import LINE_IDLE_SECONDS, LINE_REFRESH_SECONDS, Admission
from edge.surge.ratelimit import Limiter
from edge.surge.tickets import new_ticket
from pupns.errors import AppError
from tests.unit.test_edge_ratelimit import NIP, WINDOW_START, Clock, allowed


class Counting(MemoryEdgeStore):
    """The memory store, counting the operations each method would cost MongoDB."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.ops: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.ops[name] = self.ops.get(name, 0) + 1

    def add_hits(self, window, hits, expires_at):
        self._count("add_hits")
        super().add_hits(window, hits, expires_at)

    def at_limit(self, window, allowance):
        self._count("at_limit")
        return super().at_limit(window, allowance)

    def publish_line(self, process, part, expires_at):
        self._count("publish_line")
        super().publish_line(process, part, expires_at)

    def read_line(self, process, now):
        self._count("read_line")
        return super().read_line(process, now)


def limiter(store, clock, lazy: bool) -> Limiter:
    settings = Settings(user_rate=1.0, user_burst=20.0, rate_window=10, background=False, lazy_sync=lazy)
    return Limiter(settings, store, wall=clock, monotonic=clock)


def test_an_idle_process_neither_writes_nor_reads_the_shared_windows():
    clock = Clock()
    store = Counting(clock)
    idle = limiter(store, clock, lazy=True)
    for _ in range(30):
        idle.sync()
        clock.now += 0.3
    assert store.ops == {}


def test_without_backoff_every_sync_reads_every_window():
    clock = Clock()
    store = Counting(clock)
    idle = limiter(store, clock, lazy=False)
    for _ in range(10):
        idle.sync()
    assert store.ops == {"at_limit": 30}


def test_a_key_blocked_elsewhere_is_refused_here_one_sync_after_the_first_request_this_window():
    clock = Clock(WINDOW_START + 1)
    store = Counting(clock)
    quiet = limiter(store, clock, lazy=True)
    window = quiet.user_window
    expires = dt.datetime.fromtimestamp(WINDOW_START + 20, dt.UTC)
    store.add_hits(window.window_id(window.start_of(clock.now)), {NIP: window.allowance}, expires)  # spent elsewhere
    store.ops.clear()
    quiet.sync()  # nothing let through here this window: no read, nothing known blocked
    assert store.ops == {}
    assert allowed(quiet.check_user, NIP)  # the one request over: within one sync of this process's bucket
    quiet.sync()
    assert not allowed(quiet.check_user, NIP)
    clock.now += 0.3
    quiet.sync()  # it goes on reading until the window ends
    assert not allowed(quiet.check_user, NIP)
    assert store.ops == {"add_hits": 1, "at_limit": 2}


def admission(store, clock, lazy: bool = True) -> Admission:
    return Admission(Settings(background=False, capacity_initial=1, capacity_min=1, lazy_sync=lazy), store,
                     clock=clock)


def test_an_idle_process_only_keeps_its_part_of_the_line_live():
    clock = Clock(1000.0)
    store = Counting(clock)
    idle = admission(store, clock)
    idle.sync_line_in_background()
    assert store.ops == {"publish_line": 1}  # no newcomer, no line known: nothing to read
    for _ in range(int(LINE_REFRESH_SECONDS / 0.3) + 1):
        clock.now += 0.3
        idle.sync_line_in_background()
    assert store.ops == {"publish_line": 2}  # the unchanged part again, before it would expire


def test_without_backoff_the_line_is_published_and_read_every_sync():
    clock = Clock(1000.0)
    store = Counting(clock)
    idle = admission(store, clock, lazy=False)
    for _ in range(5):
        idle.sync_line_in_background()
    assert store.ops == {"publish_line": 5, "read_line": 5}


def test_the_first_newcomer_after_an_idle_spell_reads_the_other_parts_before_deciding():
    clock = Clock(1000.0)
    store = Counting(clock)
    idle, busy = admission(store, clock), admission(store, clock)
    idle.sync_line()  # the parts were read once, long ago
    clock.now += LINE_IDLE_SECONDS + 1
    idle.sync_line_in_background()
    reads = store.ops["read_line"]
    assert reads == 1  # idle: the monitor no longer reads
    now = clock.now
    busy.line.wait(new_ticket(now, now + 30), returned=True, now=now)  # a holder who came back, at the other process
    busy.sync_line()
    assert idle.line.waiting() == 0  # the idle process has not looked
    with pytest.raises(AppError) as turned_away:
        idle.enter(None, session=False)
    assert turned_away.value.code == "queue"  # it looked first: the one place is kept for that holder
    assert store.ops["read_line"] == reads + 2  # the other process's sync, and this newcomer's
    clock.now += 0.3
    idle.sync_line_in_background()  # a newcomer lately: the monitor reads every sync again
    assert store.ops["read_line"] == reads + 3
