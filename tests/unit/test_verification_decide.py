"""A verifier's decision that lost a race ends as 409 `invalid_state`, however long the winner's commit takes."""
from __future__ import annotations

import pytest

from pupns import repository
from pupns.aggregate import DomainError
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError
from pupns.repository import collision_pause
from verification import commands
from verification.settings import Settings

SETTINGS = Settings()


@pytest.fixture
def naps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(repository.time, "sleep", slept.append)
    return slept


def attempts(outcomes: list):
    """An attempt that raises (or returns) the next outcome each time it is called."""
    calls = iter(outcomes)

    def attempt() -> dict:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return attempt


def test_the_loser_keeps_retrying_while_the_winner_is_still_committing(naps):
    conflicts = [ConcurrencyError("submission-1", 1)] * 5
    with pytest.raises(AppError) as err:
        commands.decide(attempts([*conflicts, DomainError("invalid_state")]), SETTINGS)
    assert err.value.code == "invalid_state" and err.value.status == 409
    assert len(naps) == 5 and all(0 < s <= SETTINGS.backoff_max for s in naps)


def test_a_decision_that_can_never_be_stored_ends_as_conflict(naps):
    with pytest.raises(AppError) as err:
        commands.decide(attempts([ConcurrencyError("submission-1", 1)] * SETTINGS.decision_attempts), SETTINGS)
    assert err.value.code == "conflict" and len(naps) == SETTINGS.decision_attempts - 1
    assert sum(naps) < 2.0


def test_backoff_grows_is_random_and_capped():
    firsts = {collision_pause(0, SETTINGS.backoff_first, SETTINGS.backoff_max) for _ in range(50)}
    assert len(firsts) > 1 and max(firsts) <= SETTINGS.backoff_first
    assert max(collision_pause(20, SETTINGS.backoff_first, SETTINGS.backoff_max) for _ in range(50)) \
        <= SETTINGS.backoff_max


def test_an_uncontended_decision_does_not_wait(naps):
    assert commands.decide(attempts([{"status": "verified"}]), SETTINGS) == {"status": "verified"}
    assert naps == []
