"""pupns.jobs on the real SecantusDB: jobs of one process take turns, so a long job does not hold back the ones
queued behind it (a campaign close at its deadline, an audit an administrator waits for)."""
from __future__ import annotations

from identity.adapters.projections import Projector
from pupns import jobs
from pupns.replay import rebuild

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
LONG_STEPS = 6


def long_step(run: jobs.JobRun, deadline: float) -> bool:
    """One checkpoint per call, then out of budget (a roster import's chunk per turn)."""
    done = run.job.get("done", 0) + 1
    if done == LONG_STEPS:
        run.finish({"steps": done})
        return True
    run.checkpoint(done, {"at": done})
    return False


def short_step(run: jobs.JobRun, deadline: float) -> bool:
    run.finish({"ok": True})
    return True


STEPS = {"long": long_step, "short": short_step}


def status(store, job_id: str) -> dict:
    return store.db[jobs.JOBS].find_one({"_id": job_id})


def test_a_job_queued_behind_a_long_one_runs_at_the_long_one_s_next_turn(store_for):
    store = store_for("identity")
    long_job = jobs.submit(store, "long", LONG_STEPS, {}, ADMIN)
    assert jobs.run_pending(store, STEPS, "runner", budget=5) == 1  # the long job's first turn
    short_job = jobs.submit(store, "short", 1, {}, ADMIN)
    turns = 0
    while status(store, short_job["id"])["status"] != "done":
        jobs.run_pending(store, STEPS, "runner", budget=5)
        turns += 1
        assert turns <= 2, "the short job waited for the long one to end"
    # it ran while the long job still had steps left (oldest-first would have run all of them first)
    assert status(store, long_job["id"])["done"] < LONG_STEPS - 1
    while status(store, long_job["id"])["status"] != "done":
        assert jobs.run_pending(store, STEPS, "runner", budget=5) == 1
    assert status(store, long_job["id"])["result"] == {"steps": LONG_STEPS}


def test_turns_come_from_the_events_so_a_replay_rebuilds_them(store_for):
    store = store_for("identity")
    first = jobs.submit(store, "long", LONG_STEPS, {}, ADMIN)
    jobs.run_pending(store, STEPS, "runner", budget=5)
    second = jobs.submit(store, "long", LONG_STEPS, {}, ADMIN)
    before = {doc["_id"]: doc["worked_at"] for doc in store.db[jobs.JOBS].find()}
    assert before[first["id"]] < before[second["id"]]  # the first had its turn before the second arrived
    assert jobs.JOBS in Projector(store.db).collections
    rebuild(store, Projector(store.db))
    assert {doc["_id"]: doc["worked_at"] for doc in store.db[jobs.JOBS].find()} == before
