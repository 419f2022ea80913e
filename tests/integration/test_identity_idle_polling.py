"""identity's pollers while idle (issue 15): the job runner backs off but a job created in the process starts at
once; the campaign closes on time from a cached deadline, also when another replica moved it (within the refresh
bound of identity.commands.deadlines). The service runs in a nameko container on real RabbitMQ and SecantusDB."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands.deadlines import REFRESH_SECONDS
from identity.service import JOB_POLL_CEILING_SECONDS, DeadlineClockProvider, IdentityService
from identity.settings import Settings
from pupns import jobs
from pupns.actors import actor_meta
from pupns.polling import Poll
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
JOB_START_BOUND = 1.5  # seconds: the signal is seen within 0.05 s; the rest is RPCs on a busy 2-core machine
CLOSE_LATENESS = 1.5  # seconds after closes_at: a 0.5 s tick, then the close itself


@pytest.fixture
def running(runner_factory, rabbit_config, db_prefix):
    """identity in a container of its own: (its job runner entrypoint, its deadline clock, an RPC proxy)."""
    runner = runner_factory(rabbit_config, IdentityService)
    runner.start()
    (container,) = runner.containers
    job_runner = next(e for e in container.entrypoints if isinstance(e, Poll) and e.method_name == "run_jobs")
    clock = next(d for d in container.dependencies if isinstance(d, DeadlineClockProvider)).clock
    with signed_proxy("identity", rabbit_config, timeout=60) as proxy:
        yield job_runner, clock, proxy


def window(closes_at: datetime) -> dict:
    return {"opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "closes_at": closes_at.isoformat()}


def close_jobs(store) -> list[dict]:
    return list(store.db[jobs.JOBS].find({"kind": "campaign_close"}))


def test_a_job_created_while_the_runner_is_backed_off_starts_at_once(running):
    job_runner, _, identity = running
    identity.set_campaign(window(datetime.now(UTC) + timedelta(days=30)), ADMIN)

    def backed_off_and_just_polled() -> bool:
        gate = job_runner.gate
        return (gate is not None and gate.backoff.wait == JOB_POLL_CEILING_SECONDS
                and gate.next_at - time.monotonic() > JOB_POLL_CEILING_SECONDS - 0.5)

    wait_until(backed_off_and_just_polled, timeout=30, interval=0.02, message="the job runner backed off")
    started = time.monotonic()  # the runner's next poll of its own is still 3.5 s or more away
    job = identity.close_campaign(ADMIN)
    wait_until(lambda: identity.get_job(job["id"], ADMIN)["status"] == "done", timeout=10, interval=0.02,
               message="the close job ran")
    assert time.monotonic() - started < JOB_START_BOUND
    assert job_runner.gate.backoff.wait < JOB_POLL_CEILING_SECONDS  # it found work: polling fast again


def test_a_deadline_set_in_the_near_future_closes_the_campaign_on_time(running, store_for):
    _, _, identity = running
    store = store_for("identity")
    identity.set_campaign(window(datetime.now(UTC) + timedelta(days=30)), ADMIN)
    closes_at = datetime.now(UTC) + timedelta(seconds=2)
    identity.set_campaign(window(closes_at), ADMIN)  # moved in this process: seen at the next tick
    (job,) = wait_until(lambda: close_jobs(store), timeout=15, interval=0.05, message="the campaign closed")
    closed = datetime.fromisoformat(job["created_at"])
    assert closes_at <= closed < closes_at + timedelta(seconds=CLOSE_LATENESS)
    assert identity.get_campaign()["is_open"] is False


def test_a_deadline_moved_by_another_replica_is_seen_within_the_refresh_bound(running, store_for):
    _, clock, identity = running
    store = store_for("identity")
    first = identity.set_campaign(window(datetime.now(UTC) + timedelta(days=30)), ADMIN)["closes_at"]
    wait_until(lambda: isinstance(clock.campaign, dict) and clock.campaign["closes_at"] == first
               and not clock.stale(time.monotonic()), timeout=10, interval=0.02, message="the window cached")
    Projector.ensure_indexes(store.db)
    closes_at = datetime.now(UTC) + timedelta(seconds=2)
    # Another replica's set_campaign: the same event in the store, but no signal in this process.
    Deps.of(store, Settings.from_env()).campaign.run(
        "campaign", lambda c: c.schedule(window(closes_at)["opens_at"], closes_at.isoformat()), actor_meta(ADMIN))
    (job,) = wait_until(lambda: close_jobs(store), timeout=REFRESH_SECONDS + 15, interval=0.1,
                        message="the campaign closed")
    closed = datetime.fromisoformat(job["created_at"])
    assert closes_at <= closed < closes_at + timedelta(seconds=REFRESH_SECONDS + CLOSE_LATENESS)
