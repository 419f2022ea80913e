"""Wait on a condition with a deadline (tests never sleep to synchronise)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.05,
               message: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; return it, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # the probe may fail while the system converges
            last_error = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s (last error: {last_error!r})")
        time.sleep(interval)
