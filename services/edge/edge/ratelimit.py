"""Token buckets per authenticated user and per login username (in-process: a first cut)."""
from __future__ import annotations

import math
import threading
import time

from pupns.errors import AppError

MAX_KEYS = 200_000


class TokenBuckets:
    """`rate` tokens per second up to `burst`; one bucket per key, idle ones forgotten."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic) -> None:
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


class Limiter:
    """The edge's rate limits; never per address (offices register behind one NAT)."""

    def __init__(self, user_rate: float, user_burst: float, login_rate: float, login_burst: float) -> None:
        self.users = TokenBuckets(user_rate, user_burst)
        self.logins = TokenBuckets(login_rate, login_burst)

    def check_user(self, actor_id: str) -> None:
        _raise_if_waiting(self.users.take(f"u:{actor_id}"))

    def check_login(self, username: str) -> None:
        _raise_if_waiting(self.logins.take(f"l:{username.strip().lower()}"))


def _raise_if_waiting(wait: float) -> None:
    if wait > 0:
        raise AppError("rate_limited", extra={"retry_after": max(1, math.ceil(wait))})
