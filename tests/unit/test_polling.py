"""Pollers that back off while they find nothing and wake at once for work created in their process."""
from __future__ import annotations

from pupns.polling import Gate, PollBackoff, Signal
from tests.clock import Clock


def test_empty_polls_double_the_wait_up_to_the_ceiling_and_work_brings_back_the_fast_interval():
    backoff = PollBackoff(0.5, 4.0, enabled=True)
    assert [backoff.found(False) for _ in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.found(True) == 0.5
    assert backoff.found(False) == 1.0


def test_without_backoff_the_wait_stays_at_the_fast_interval():
    backoff = PollBackoff(0.5, 4.0, enabled=False)
    assert [backoff.found(False) for _ in range(4)] == [0.5] * 4


def test_the_env_setting_turns_backoff_off(monkeypatch):
    monkeypatch.setenv("PUPNS_POLL_BACKOFF", "0")
    assert PollBackoff(0.5, 4.0).found(False) == 0.5
    monkeypatch.setenv("PUPNS_POLL_BACKOFF", "1")
    assert PollBackoff(0.5, 4.0).found(False) == 1.0


def test_a_backed_off_gate_is_due_only_after_its_wait():
    clock = Clock(100.0)
    gate = Gate(PollBackoff(0.5, 4.0, enabled=True), clock=clock)
    for _ in range(4):
        gate.polled(False)
    assert gate.backoff.wait == 4.0
    clock.now += 3.9
    assert not gate.due()
    clock.now += 0.1
    assert gate.due()


def test_a_signal_makes_a_backed_off_gate_due_at_once_and_resets_its_wait():
    clock, signal = Clock(100.0), Signal("jobs")
    gate = Gate(PollBackoff(0.5, 4.0, enabled=True), signal, clock)
    for _ in range(4):
        gate.polled(False)
    signal.set()
    assert gate.due()
    assert not gate.due()  # seen once: the next poll decides again
    gate.polled(False)  # the woken poll found nothing (another replica took the job): the wait starts over
    assert gate.backoff.wait == 1.0


def test_a_signal_set_while_a_poll_runs_is_not_lost():
    clock, signal = Clock(100.0), Signal("jobs")
    gate = Gate(PollBackoff(0.5, 4.0, enabled=True), signal, clock)
    clock.now += 1
    assert gate.due()
    signal.set()  # work created during the poll, after it looked
    gate.polled(False)
    assert gate.due()
