"""Every RPC carries its deadline: a request taken off the queue after its caller gave up is skipped, not run."""
from __future__ import annotations

import eventlet
import pytest

from pupns.deadlines import EXPIRED, expired, rpc
from pupns.errors import AppError
from pupns.rpc_client import RpcBackend
from pupns.service_calls import ServiceCalls
from pupns_dev.waiting import wait_until


class BusyService:
    """One worker; `work` holds it for a while and records that it ran."""

    name = "deadline_probe"
    ran: list[str] = []

    @rpc
    def work(self, label: str, seconds: float) -> str:
        BusyService.ran.append(label)
        eventlet.sleep(seconds)
        return label


def skipped() -> float:
    return EXPIRED.labels("deadline_probe", "work")._value.get()


def test_a_request_whose_caller_has_given_up_is_skipped_and_counted(runner_factory, rabbit_config):
    BusyService.ran = []
    runner = runner_factory({**rabbit_config, "max_workers": 1}, BusyService)
    runner.start()
    before = skipped()
    patient, hasty = RpcBackend(rabbit_config["AMQP_URI"], timeout=10), RpcBackend(rabbit_config["AMQP_URI"], 0.5)
    first = eventlet.spawn(patient.call, "deadline_probe", "work", "first", 1.5)
    wait_until(lambda: BusyService.ran == ["first"], message="the only worker is busy")
    with pytest.raises(AppError) as err:  # waits in the queue behind "first" longer than its caller waits
        hasty.call("deadline_probe", "work", "second", 0)
    assert err.value.code == "unavailable"
    assert first.wait() == "first"
    wait_until(lambda: skipped() == before + 1, message="the late request was skipped")
    assert patient.call("deadline_probe", "work", "third", 0) == "third"  # a request in time still runs
    assert BusyService.ran == ["first", "third"]  # "second" never cost a worker


def test_deadlines_compare_with_the_clock_and_no_deadline_never_expires():
    assert expired("100.0", now=101) and not expired(100.0, now=99) and not expired(None, now=1e12)
    assert not expired("garbage", now=1e12)


class CallerService:
    """Calls deadline_probe.work through ServiceCalls, as identity's audit job calls other services."""

    name = "deadline_caller"
    calls = ServiceCalls()

    @rpc
    def ask(self, seconds: float, timeout: float) -> str:
        return self.calls.call("deadline_probe", "work", "asked", seconds, timeout=timeout)


def test_a_service_s_call_given_up_frees_its_reply_slot(runner_factory, rabbit_config):
    """A callee that never answers (here: its only worker busy far past the caller's patience) must not leave the
    caller's reply listener holding the call for the process's life."""
    BusyService.ran = []
    runner = runner_factory({**rabbit_config, "max_workers": 1}, BusyService, CallerService)
    runner.start()
    listener = ServiceCalls.rpc_reply_listener
    caller = RpcBackend(rabbit_config["AMQP_URI"], timeout=10)
    blocker = eventlet.spawn(caller.call, "deadline_probe", "work", "blocker", 3)
    wait_until(lambda: BusyService.ran == ["blocker"], message="the probe's only worker is busy")
    with pytest.raises(AppError) as err:
        caller.call("deadline_caller", "ask", 0, 0.5)
    assert err.value.code == "unavailable"
    container = next(c for c in runner.containers if c.service_name == "deadline_caller")
    slots = next(ext for ext in container.subextensions if isinstance(ext, type(listener)))._reply_events
    assert slots == {}  # given up at 0.5 s, while the probe is still busy: nothing left waiting for its reply
    assert blocker.wait() == "blocker"
