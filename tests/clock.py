"""A clock the test moves by hand: time-dependent behaviour is proved without waiting for it."""
from __future__ import annotations


class Clock:
    """Callable like `time.monotonic` (or `time.time`); returns `now`, which the test sets or advances."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
