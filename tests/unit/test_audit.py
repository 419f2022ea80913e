"""pupns.audit: every service is asked at once, and the answers are merged as one platform-wide view."""
from __future__ import annotations

import threading

import pytest

from pupns import audit
from pupns.errors import AppError


class ConcurrentBackend:
    """Answers a call only once every service's call has arrived: one after another, the barrier breaks."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.barrier = threading.Barrier(len(audit.SERVICES), timeout=10)

    def call(self, service: str, method: str, *args):
        if args == (None,) or method != "verify_chains_page":  # the first call to each service: all at once
            self.barrier.wait()
        answer = self.answers[service]
        if isinstance(answer, Exception):
            raise answer
        if method == "verify_chains_page" and isinstance(answer, list):  # pages: the cursor is the page's index
            index = args[0] or 0
            return {**answer[index], "done": index == len(answer) - 1, "cursor": index + 1}
        return answer


def test_every_chain_is_checked_at_once_and_summed():
    answers = {s: [{"service": s, "streams_checked": 2, "events_checked": 5, "broken": []}] for s in audit.SERVICES}
    answers["forms"] = [{"service": "forms", "streams_checked": 1, "events_checked": 1, "broken": []},
                        {"service": "forms", "streams_checked": 0, "events_checked": 2,
                         "broken": [{"stream": "form-1", "version": 2, "reason": "hash_mismatch"}]}]
    total = audit.verify_every_chain(ConcurrentBackend(answers))
    assert total["streams_checked"] == 9 and total["events_checked"] == 23  # forms' two pages summed
    assert total["broken"] == [{"service": "forms", "stream": "form-1", "version": 2, "reason": "hash_mismatch"}]
    assert total["services"]["forms"]["events_checked"] == 3


def test_a_history_merges_every_service_in_time_order():
    def event(service, at, position):
        return {"stream": f"{service}-1", "occurred_at": at, "position": position, "hash": f"{service}{position}"}
    answers = {s: [] for s in audit.SERVICES}
    answers["identity"] = [event("identity", "2026-12-02T01:00:00Z", 4), event("identity", "2026-12-02T03:00:00Z", 5)]
    answers["forms"] = [event("forms", "2026-12-02T02:00:00Z", 1)]
    answers["notifications"] = [event("notifications", "2026-12-02T01:00:00Z", 9)]
    merged = audit.history(ConcurrentBackend(answers), "199001012015091001")
    assert [e["hash"] for e in merged] == ["identity4", "notifications9", "forms1", "identity5"]
    assert [e["service"] for e in merged] == ["identity", "notifications", "forms", "identity"]


def test_a_service_that_fails_fails_the_whole_view():
    answers = {s: [{"streams_checked": 0, "events_checked": 0, "broken": []}] for s in audit.SERVICES}
    answers["documents"] = AppError("unavailable")
    with pytest.raises(AppError):
        audit.verify_every_chain(ConcurrentBackend(answers))
