"""A verifier's decision that lost a race ends as 409 `invalid_state`, however long the winner's commit takes."""
from __future__ import annotations

import pytest

from pupns.aggregate import DomainError
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError
from verification import application


@pytest.fixture
def naps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(application.time, "sleep", slept.append)
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
        application.decide(attempts([*conflicts, DomainError("invalid_state")]))
    assert err.value.code == "invalid_state" and err.value.status == 409
    assert len(naps) == 5 and all(0 < s <= application.BACKOFF_MAX for s in naps)


def test_a_decision_that_can_never_be_stored_ends_as_conflict(naps):
    with pytest.raises(AppError) as err:
        application.decide(attempts([ConcurrencyError("submission-1", 1)] * application.ATTEMPTS))
    assert err.value.code == "conflict" and len(naps) == application.ATTEMPTS - 1
    assert sum(naps) < 2.0


def test_backoff_grows_is_random_and_capped():
    firsts = {application.backoff(0) for _ in range(50)}
    assert len(firsts) > 1 and max(firsts) <= application.BACKOFF_FIRST
    assert max(application.backoff(20) for _ in range(50)) <= application.BACKOFF_MAX


def test_an_uncontended_decision_does_not_wait(naps):
    assert application.decide(attempts([{"status": "verified"}])) == {"status": "verified"}
    assert naps == []
