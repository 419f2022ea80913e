"""Tokens of disabled staff accounts, and those issued before a password change, stop working within seconds, at
the edge and in the console.

Identity says which staff accounts were ever disabled or given a new password (`revoked_staff`: username ->
{active, since}, `since` the latest of the two); each web process refreshes that map at most every
REFRESH_SECONDS, so checking a token costs a dictionary lookup and a disabled account's tokens and console
sessions stop within that time (SPEC: within 5 s).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
STAFF_ROLES = ("verifier", "admin")


class Revocations:
    """The revoked-staff map of one process, refreshed lazily by whichever request finds it stale."""

    def __init__(self, fetch: Callable[[], dict[str, dict]], clock: Callable[[], float] = time.monotonic) -> None:
        self.fetch, self.clock = fetch, clock
        self._map: dict[str, dict] = {}
        self._at = -REFRESH_SECONDS
        self._lock = threading.Lock()

    def revoked(self, claims: dict[str, Any]) -> bool:
        """True for a staff token of an account disabled now, or issued before its latest disabling or password
        change."""
        if claims.get("role") not in STAFF_ROLES:
            return False
        self._refresh()
        entry = self._map.get(claims.get("sub"))
        if entry is None:
            return False
        return not entry["active"] or claims.get("iat", 0) <= datetime.fromisoformat(entry["since"]).timestamp()

    def _refresh(self) -> None:
        if self.clock() - self._at < REFRESH_SECONDS or not self._lock.acquire(blocking=False):
            return  # fresh enough, or another thread is refreshing: use what we have
        try:
            self._map = self.fetch() or {}
            self._at = self.clock()
        except Exception:  # identity unreachable: keep the last map, try again on the next request
            log.warning("revoked staff accounts not refreshed", exc_info=True)
        finally:
            self._lock.release()
