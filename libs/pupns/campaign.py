"""The campaign window rule, in one place for every service that checks it, and the window as a process last read it."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

# How long a process answers "is the campaign open?" from the window it last read. Every registration and every
# save asks, while the window changes a few times a campaign: a change made through another process is seen within
# this (the deadline itself is exact: the window is compared with the clock at every ask).
WINDOW_TTL_SECONDS = 1.0


def campaign_is_open(window: dict | None, now: datetime) -> bool:
    """True inside [opens_at, closes_at); a window never scheduled, incomplete or malformed is closed."""
    if not window or not window.get("opens_at") or not window.get("closes_at"):
        return False
    try:
        opens, closes = datetime.fromisoformat(window["opens_at"]), datetime.fromisoformat(window["closes_at"])
        return opens <= now < closes
    except (TypeError, ValueError):
        return False  # includes comparing a naive time with an aware one: never scheduled that way by the API


class CachedWindow:
    """The campaign window as this process last read it, for at most `ttl` seconds."""

    def __init__(self, ttl: float = WINDOW_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._window: dict | None = None
        self._read_at = self._fresh_until = float("-inf")

    def get(self, read: Callable[[], dict | None]) -> dict | None:
        """The window, read with `read` when the last read is older than `ttl` or the window has just changed."""
        now = self.clock()
        if now < self._fresh_until or now - self._read_at >= self.ttl:
            self._window, self._read_at = read(), now
        return self._window

    def forget(self) -> None:
        """The window changes (a projection calls this inside the append's transaction): read it afresh for the next
        `ttl` seconds, so that a read made before the commit is not kept."""
        self._fresh_until = self.clock() + self.ttl


_WINDOWS: dict[tuple[int, str], CachedWindow] = {}


def cached_window(db: Any) -> CachedWindow:
    """This process's cache of the window kept in database `db` (one per database: tests run services side by side)."""
    return _WINDOWS.setdefault((id(db.client), db.name), CachedWindow())
