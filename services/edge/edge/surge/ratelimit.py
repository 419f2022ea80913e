"""Rate limits per authenticated user and per login username, held across all edge processes and replicas.

Two layers, and neither costs a MongoDB round trip on the request path:
- a token bucket per key in this process (`rate` per second up to `burst`): it refuses a client pinned to
  one keep-alive connection at once;
- a fixed window per key shared through the edge's MongoDB database. Each allowed request is counted here
  as pending; `Limiter.sync()` (the monitor thread, every `rate_sync_seconds`) adds the pending counts to
  the shared windows and reads back the keys that used up their allowance, refused here until the window ends.

A window lasts W = `rate_window` seconds (default 10) and lets `rate × W + burst` requests through: what
one token bucket lets through in any W seconds, so a client that keeps to its bucket is never refused by
the window, while all processes together let at most that much through per window (a client spreading its
requests over many processes gets `rate + burst / W` per second at most, 13/s per user and 1.2/s per
username with the defaults; around a window boundary up to twice the allowance, as any fixed window).
The shared count lags: a key can get past its allowance by what all processes let through until each of
them has seen it blocked, one flush and one read, at most two sync intervals of each process's bucket.
A process that let nothing through in the current window neither writes nor reads for it (an idle edge costs
the store nothing): it holds no blocked keys of that window, lets its first request through, and from its next
sync on flushes and reads every sync until the window ends, so it lets through at most one sync interval of its
bucket after a key is blocked, within the bound above. PUPNS_POLL_BACKOFF=0 reads every sync.
If MongoDB is unreachable the shared layer stands still (the last blocked keys until their window ends,
then none) and the limits degrade to per process; they never refuse everyone.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from pymongo.errors import PyMongoError

from edge.settings import Settings
from pupns.devices import login_key
from pupns.errors import AppError

log = logging.getLogger(__name__)
MAX_KEYS = 200_000
SYNC_BACKOFF_SECONDS = 5.0  # after a store failure: not a timeout on the monitor thread every sync


class TokenBuckets:
    """`rate` tokens per second up to `burst`; one bucket per key, idle ones forgotten."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    def take(self, key: str) -> float:
        """0 when allowed; otherwise seconds until a token is available."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_KEYS:
                self._forget_full(now)
            self.rejected += 1
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


class WindowStore(Protocol):
    """The part of the edge store the shared windows use (MongoEdgeStore, MemoryEdgeStore)."""

    def add_hits(self, window: str, hits: Mapping[str, int], expires_at: dt.datetime) -> None: ...

    def at_limit(self, window: str, allowance: int) -> set[str]: ...


def window_allowance(rate: float, burst: float, seconds: int) -> int:
    """What one token bucket lets through in `seconds`: the shared window's allowance."""
    return max(1, math.floor(rate * seconds + burst + 1e-9))


class SharedWindow:
    """One limit's fixed windows: counts allowed requests for the store, refuses the keys it reports spent."""

    def __init__(self, name: str, allowance: int, seconds: int, clock: Callable[[], float] = time.time,
                 lazy: bool = True) -> None:
        self.name, self.allowance, self.seconds, self.clock, self.lazy = name, allowance, seconds, clock, lazy
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._pending_start = 0
        self._blocked: frozenset[str] = frozenset()
        self._blocked_start = -1
        self._active_start = -1  # the last window in which this process let something through
        self.rejected = 0

    def start_of(self, now: float) -> int:
        """The window holding `now`; wall-clock based so every process and replica agrees on it."""
        return int(now // self.seconds) * self.seconds

    def window_id(self, start: int) -> str:
        """The store's name for this limit's window starting at `start`, e.g. "u:1700000000"."""
        return f"{self.name}:{start}"

    def check(self, key: str) -> float:
        """0 and counted when allowed; otherwise seconds until the window ends."""
        now = self.clock()
        start = self.start_of(now)
        with self._lock:
            if start == self._blocked_start and key in self._blocked:
                self.rejected += 1
                return start + self.seconds - now
            if start != self._pending_start:
                self._pending, self._pending_start = {}, start  # a past window's counts no longer matter
            self._pending[key] = self._pending.get(key, 0) + 1
        return 0.0

    def sync(self, store: WindowStore) -> None:
        """Add the pending counts to the shared window, then refresh the blocked keys from it."""
        start = self.start_of(self.clock())
        with self._lock:
            pending, pending_start = self._pending, self._pending_start
            self._pending = {}
        if pending:
            self._active_start = pending_start
        if self.lazy and self._active_start != start:
            return  # nothing let through here in this window: see the module's docstring
        window = self.window_id(start)
        if pending and pending_start == start:
            expires_at = dt.datetime.fromtimestamp(start + 2 * self.seconds, dt.UTC)
            store.add_hits(window, pending, expires_at)  # on failure these hits are lost: limits go per process
        blocked = frozenset(store.at_limit(window, self.allowance))
        with self._lock:
            self._blocked, self._blocked_start = blocked, start


class FailureWindow(SharedWindow):
    """Counts failures per key (not requests) in shared fixed windows: how many a key had in this window, here
    and, as of the last sync, in every process."""

    def __init__(self, name: str, allowance: int, seconds: int, clock: Callable[[], float] = time.time,
                 lazy: bool = True) -> None:
        super().__init__(name, allowance, seconds, clock, lazy)
        self._local: dict[str, int] = {}  # this process's failures per key in the current window

    def failed(self, key: str) -> float:
        """Count one failure; 0 while the key is within its allowance, else seconds until the window ends."""
        now = self.clock()
        start = self.start_of(now)
        with self._lock:
            if start != self._pending_start:
                self._pending, self._pending_start, self._local = {}, start, {}
            self._pending[key] = self._pending.get(key, 0) + 1
            local = self._local[key] = self._local.get(key, 0) + 1
            over = local > self.allowance or (start == self._blocked_start and key in self._blocked)
        if not over:
            return 0.0
        self.rejected += 1
        return start + self.seconds - now


class Limiter:
    """The edge's rate limits: per user and per login username; per address only for failed anonymous
    registration attempts (whole offices register behind one NAT, successes are never limited per address)."""

    def __init__(self, settings: Settings, store: WindowStore, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        seconds = settings.rate_window
        self.store, self.monotonic = store, monotonic
        self.users = TokenBuckets(settings.user_rate, settings.user_burst, monotonic)
        self.logins = TokenBuckets(settings.login_rate, settings.login_burst, monotonic)
        lazy = settings.lazy_sync
        self.user_window = SharedWindow("u", window_allowance(settings.user_rate, settings.user_burst, seconds),
                                        seconds, wall, lazy)
        self.login_window = SharedWindow("l", window_allowance(settings.login_rate, settings.login_burst, seconds),
                                         seconds, wall, lazy)
        self.registration_failures = FailureWindow("rf", settings.registration_failures_per_minute, 60, wall, lazy)
        self._quiet_until = -math.inf
        self.sync_failures = 0

    def check_user(self, actor_id: str) -> None:
        """Refuse (429 `rate_limited`) an authenticated user over its rate."""
        _check(self.users, self.user_window, actor_id)

    def check_login(self, username: str, device: str | None = None) -> None:
        """Refuse (429 `rate_limited`) a login username over its rate, before any password hash. A client holding
        the username's device cookie has a rate of its own (nobody else's attempts use it up); "1990 0101 ..." is
        the same NIP as "19900101..."."""
        key = login_key(username)
        _check(self.logins, self.login_window, f"{key}#{device}" if device else key)

    def registration_failed(self, address: str) -> None:
        """A registration attempt from `address` failed (unknown NIP, wrong NIK): over the allowance per minute,
        answer 429 `rate_limited` instead, so guessing from one address learns nothing more."""
        wait = self.registration_failures.failed(address)
        if wait > 0:
            raise AppError("rate_limited", extra={"retry_after": max(1, math.ceil(wait))})

    def sync(self) -> None:
        """Exchange counts with the other edge processes; a store failure only pauses the sharing."""
        now = self.monotonic()
        if now < self._quiet_until:
            return
        try:
            for window in (self.user_window, self.login_window, self.registration_failures):
                window.sync(self.store)
        except PyMongoError as exc:
            self.sync_failures += 1
            self._quiet_until = now + SYNC_BACKOFF_SECONDS
            log.warning("shared rate limits unavailable, per-process limits only for %.0f s: %r",
                        SYNC_BACKOFF_SECONDS, exc)


def _check(buckets: TokenBuckets, window: SharedWindow, key: str) -> None:
    # The local bucket first: a request it refuses is not counted against the shared window.
    wait = buckets.take(key) or window.check(key)
    if wait > 0:
        raise AppError("rate_limited", extra={"retry_after": max(1, math.ceil(wait))})
