"""When identity's deadline checks (campaign close, reminders) run: when a moment passed or the campaign changed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.commands.deadlines import DeadlineClock, check, moments
from pupns.polling import Signal

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = 86400


def campaign(closes_at: datetime, opens_at: datetime = T0 - timedelta(days=30), version: int = 1) -> dict:
    return {"_id": "current", "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat(),
            "updated_at": f"v{version}"}


def clock(**kwargs) -> DeadlineClock:
    return DeadlineClock([7 * DAY, DAY], refresh=10.0, signal=kwargs.pop("signal", Signal("campaign")),
                         enabled=kwargs.pop("enabled", True))


def test_the_moments_are_the_opening_each_reminder_and_the_close():
    closes = T0 + timedelta(days=10)
    assert moments(campaign(closes), [7 * DAY, DAY]) == [
        T0 - timedelta(days=30), closes - timedelta(days=7), closes - timedelta(days=1), closes]
    assert moments(None, [DAY]) == []


def test_checks_run_once_then_not_until_the_next_moment():
    deadlines, closes = clock(), T0 + timedelta(days=10)
    deadlines.remember(campaign(closes), 0.0)
    assert deadlines.due(T0)  # never checked: catch up at start
    deadlines.checked(T0)
    assert not deadlines.due(T0 + timedelta(hours=1))
    assert not deadlines.due(closes - timedelta(days=7, seconds=1))
    assert deadlines.due(closes - timedelta(days=7))  # the 7-day reminder's moment
    deadlines.checked(closes - timedelta(days=7))
    assert not deadlines.due(closes - timedelta(seconds=1, days=1))
    deadlines.checked(closes - timedelta(days=1))
    assert not deadlines.due(closes - timedelta(microseconds=1))
    assert deadlines.due(closes)  # the close itself
    deadlines.checked(closes)
    assert not deadlines.due(closes + timedelta(days=365))  # closed: nothing until the campaign changes


def test_a_changed_campaign_is_checked_at_once():
    deadlines = clock()
    deadlines.remember(campaign(T0 + timedelta(days=10)), 0.0)
    deadlines.checked(T0)
    deadlines.remember(campaign(T0 + timedelta(days=20), version=2), 1.0)  # extended
    assert deadlines.due(T0 + timedelta(seconds=1))


def test_no_campaign_means_nothing_to_check():
    deadlines = clock()
    deadlines.remember(None, 0.0)
    assert deadlines.due(T0)
    deadlines.checked(T0)
    assert not deadlines.due(T0 + timedelta(days=400))


def test_the_campaign_is_read_again_after_a_change_here_or_after_the_refresh_period():
    signal = Signal("campaign")
    deadlines = clock(signal=signal)
    assert deadlines.stale(0.0)
    deadlines.remember(campaign(T0), 0.0)
    assert not deadlines.stale(9.9)
    assert deadlines.stale(10.0)  # another replica's change is seen within the refresh period
    deadlines.remember(campaign(T0), 10.0)
    signal.set()  # set_campaign / close_campaign in this process
    assert deadlines.stale(10.1)




class Read:
    def __init__(self, doc: dict | None) -> None:
        self.doc, self.reads = doc, 0

    def campaign(self) -> dict | None:
        self.reads += 1
        return self.doc


class FakeDeps:
    def __init__(self, doc: dict | None) -> None:
        self.read = Read(doc)


def test_check_queries_nothing_between_moments_and_retries_a_failed_check():
    deps, deadlines, ran = FakeDeps(campaign(T0 + timedelta(days=10))), clock(), []

    def close(d):
        ran.append("close")

    assert check(deps, deadlines, [close], T0, 0.0) and ran == ["close"] and deps.read.reads == 1
    for second in range(1, 10):  # ticks within the refresh period: no read, no check
        assert not check(deps, deadlines, [close], T0 + timedelta(seconds=second), float(second))
    assert deps.read.reads == 1 and ran == ["close"]

    def broken(d):
        raise RuntimeError("store away")

    at = T0 + timedelta(days=3)  # the 7-day reminder's moment has passed
    assert check(deps, deadlines, [broken], at, 10.0)
    assert check(deps, deadlines, [close], at + timedelta(seconds=1), 10.5)  # failed: tried again next tick
    assert not check(deps, deadlines, [close], at + timedelta(seconds=2), 11.0)


def test_without_backoff_the_checks_run_every_tick_reading_the_campaign_only_themselves():
    deps, deadlines, ran = FakeDeps(campaign(T0 + timedelta(days=10))), clock(enabled=False), []
    for second in range(3):
        assert check(deps, deadlines, [ran.append], T0 + timedelta(seconds=second), float(second))
    assert len(ran) == 3 and deps.read.reads == 0
