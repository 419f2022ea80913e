"""When identity's deadline checks (the campaign's close, the reminders before it) are next due.

The checks themselves (`sanctions.close_when_due`, `reminders.schedule_due`) read the campaign and ask the store
whether their work was done already; run every tick, they cost the store a few queries a second for nothing.
`DeadlineClock` keeps the campaign as last read and runs them only when one of its moments (opens_at, each
reminder's moment, closes_at) has passed since the last check, or when the campaign changed. The checks still
read the campaign afresh when they run, so a cached value only decides when to look, never what to do.

A change of the campaign in this process (`set_campaign`, `close_campaign`) sets `CAMPAIGN_CHANGED`: it is seen
at the next tick. A change made by another replica is seen within `REFRESH_SECONDS` (the campaign is read again
that often); that replica, having seen it at once, closes on time itself while it lives.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from identity.domain import rules
from pupns import config, polling

log = logging.getLogger(__name__)
REFRESH_SECONDS = 10.0  # bound on seeing another replica's change of the campaign
CAMPAIGN_CHANGED = polling.Signal("campaign")
_UNREAD = object()


def moments(campaign: dict | None, offsets: Sequence[float]) -> list[datetime]:
    """The instants at which a deadline check has something new to decide, for `offsets` seconds before close."""
    if not campaign or not campaign.get("closes_at"):
        return []
    closes_at = rules.parse_aware(campaign["closes_at"])
    found = [closes_at, *(closes_at - timedelta(seconds=s) for s in offsets)]
    if campaign.get("opens_at"):
        found.append(rules.parse_aware(campaign["opens_at"]))
    return sorted(found)


class DeadlineClock:
    """The campaign as last read and when the deadline checks last ran; pure (the caller passes the clocks)."""

    def __init__(self, offsets: Sequence[float], refresh: float = REFRESH_SECONDS,
                 signal: polling.Signal = CAMPAIGN_CHANGED, enabled: bool | None = None) -> None:
        self.offsets, self.refresh, self.signal = list(offsets), refresh, signal
        self.enabled = config.poll_backoff() if enabled is None else enabled
        self.campaign: object = _UNREAD
        self._read_at = -math.inf
        self._seen = signal.count
        self._checked_campaign: object = _UNREAD
        self._checked_at: datetime | None = None

    def stale(self, monotonic: float) -> bool:
        """Whether the campaign must be read again (changed here, or not read for `refresh` seconds)."""
        return self.signal.count != self._seen or monotonic - self._read_at >= self.refresh

    def remember(self, campaign: dict | None, monotonic: float, seen: int | None = None) -> None:
        """The campaign as just read (`seen`: the signal's count taken before the read)."""
        self.campaign, self._read_at = campaign, monotonic
        self._seen = self.signal.count if seen is None else seen

    def due(self, now: datetime) -> bool:
        """Whether the checks should run: the campaign changed, or one of its moments passed since they last ran."""
        if not self.enabled or self.campaign is _UNREAD or self.campaign != self._checked_campaign:
            return True
        since = self._checked_at
        return any(since is None or since < moment <= now for moment in moments(self.campaign, self.offsets))

    def checked(self, now: datetime) -> None:
        """The checks ran (and did not fail) at `now`, on the campaign remembered."""
        self._checked_campaign, self._checked_at = self.campaign, now


def check(deps, clock: DeadlineClock, checks: Sequence[Callable], now: datetime, monotonic: float) -> bool:
    """Run `checks(deps)` if they are due; True when they ran. A failed check runs again on the next tick."""
    if clock.enabled and clock.stale(monotonic):  # PUPNS_POLL_BACKOFF=0: the checks read for themselves, as before
        seen = clock.signal.count  # before the read: a change committed during it is read again next tick
        clock.remember(deps.read.campaign(), monotonic, seen)
    if not clock.due(now):
        return False
    failed = False
    for due in checks:
        try:
            due(deps)
        except Exception:  # logged; checked again on the next tick
            log.exception("%s failed; retrying on the next tick", getattr(due, "__name__", due))
            failed = True
    if not failed:
        clock.checked(now)
    return True
