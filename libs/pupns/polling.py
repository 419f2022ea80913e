"""Pollers that cost the store nothing while there is nothing to do (issue 15 items 3 and 9).

A poll that finds nothing waits twice as long before the next one, up to a ceiling of a few seconds; one that
finds work comes back to the fast interval at once. Work created in this process does not wait for the slow
poll: whoever creates it sets a `Signal`, and the poller watching it runs within `WAKE_CHECK_SECONDS`. Work
created by another replica is found by that replica's own poller (it is woken the same way), or by this one
within the ceiling. PUPNS_POLL_BACKOFF=0 restores the old fixed intervals (for a before/after measurement in one
run: bench/idle_store.py).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from eventlet import Timeout
from nameko.timer import Timer

from pupns import config
from pupns.retry_queue import Backoff

WAKE_CHECK_SECONDS = 0.05  # how often a waiting poller looks at its signal (a flag: no store operation)


class PollBackoff:
    """The wait before the next poll: `fast` after work was found, doubling after each empty poll up to `ceiling`."""

    def __init__(self, fast: float, ceiling: float, enabled: bool | None = None) -> None:
        enabled = config.poll_backoff() if enabled is None else enabled
        self.schedule = Backoff(fast, max(fast, ceiling) if enabled else fast)
        self.empty = 0  # empty polls in a row
        self.wait = fast

    def found(self, work: bool) -> float:
        """Record a poll's outcome; returns the wait before the next one."""
        self.empty = 0 if work else self.empty + 1
        self.wait = self.schedule.delay(self.empty + 1)
        return self.wait

    def woken(self) -> None:
        """Work was signalled: the next wait is the fast one again."""
        self.empty, self.wait = 0, self.schedule.base


class Signal:
    """"There is work": set by whoever creates it in this process, seen by the pollers that watch it.

    A counter, not an eventlet Event: it may be set from any thread (tests, a CLI) without a hub of its own.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._count = 0
        self._lock = threading.Lock()

    def set(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count


class Gate:
    """Whether a poll is due now: after its backoff wait, or at once when its signal was set since it last looked."""

    def __init__(self, backoff: PollBackoff, signal: Signal | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff, self.signal, self.clock = backoff, signal, clock
        self.next_at = 0.0
        self._seen = signal.count if signal else 0

    def due(self) -> bool:
        if self.signal is not None and self.signal.count != self._seen:
            self._seen = self.signal.count
            self.backoff.woken()
            return True
        return self.clock() >= self.next_at

    def polled(self, work: bool) -> None:
        self.next_at = self.clock() + self.backoff.found(work)


class Poll(Timer):
    """A nameko timer that backs off: its method returns whether it found work (truthy) and the next tick comes
    after `interval` if so, else after twice the last wait up to `ceiling`; setting `signal` ends a wait at once.
    An exception counts as work (the next try comes soon, as with the plain timer)."""

    def __init__(self, interval: float, ceiling: float, signal: Signal | None = None, **kwargs) -> None:
        super().__init__(interval, **kwargs)
        self.ceiling, self.signal = ceiling, signal
        self.gate: Gate | None = None  # set when the loop starts (tests read its state)
        self._found = True

    def _run(self) -> None:
        gate = self.gate = Gate(PollBackoff(self.interval, self.ceiling), self.signal)
        gate.polled(True)  # the first tick after `interval`, as nameko's timer (not eager)
        while True:
            # Sleep in short slices, looking at the signal: wake at once for work created here.
            with Timeout(WAKE_CHECK_SECONDS, exception=False):
                self.should_stop.wait()
                break
            if not gate.due():
                continue
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()
            gate.polled(self._found)

    def handle_result(self, worker_ctx, result, exc_info):
        self._found = bool(result) or exc_info is not None
        return super().handle_result(worker_ctx, result, exc_info)


poll = Poll.decorator
