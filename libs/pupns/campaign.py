"""The campaign window rule, in one place for every service that checks it."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime


def campaign_is_open(window: dict | None, now: datetime) -> bool:
    """True inside [opens_at, closes_at); a window never scheduled, incomplete or malformed is closed."""
    if not window or not window.get("opens_at") or not window.get("closes_at"):
        return False
    try:
        opens, closes = datetime.fromisoformat(window["opens_at"]), datetime.fromisoformat(window["closes_at"])
        return opens <= now < closes
    except (TypeError, ValueError):
        return False  # includes comparing a naive time with an aware one: never scheduled that way by the API


class WindowCache:
    """A service process's copy of its campaign read model, read again after `ttl` seconds.

    Every registration and every section save checks the window, which changes a few times a campaign: one
    read a second instead of one per request. A window is kept only once scheduled (a campaign scheduled where
    there was none is seen at once); a change stored by this process is seen at once (`forget`, called by the
    projection that writes it), a change stored by another replica within `ttl`. Whether the window is open is
    still decided against the clock on every call (`campaign_is_open`), so closing at `closes_at` is exact.
    """

    def __init__(self, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._kept: dict[str, tuple[float, dict]] = {}

    def get(self, key: str, read: Callable[[], dict | None]) -> dict | None:
        """The window of read model `key` (a database name), from `read()` when not kept or kept too long."""
        kept = self._kept.get(key)
        if kept is not None and self.clock() - kept[0] < self.ttl:
            return dict(kept[1])  # a copy: a caller changing it changes nobody else's
        window = read()
        if window is None:
            self._kept.pop(key, None)
            return None
        self._kept[key] = (self.clock(), window)
        return dict(window)

    def forget(self, key: str) -> None:
        self._kept.pop(key, None)


WINDOWS = WindowCache()  # this process's: keyed by the read model's database name
