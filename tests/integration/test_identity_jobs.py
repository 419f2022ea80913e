"""identity's jobs on the real SecantusDB (use cases and the runner called directly): roster import, close."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.adapters import Deps
from identity.adapters.operational import INPUTS
from identity.adapters.projections import Projector
from identity.adapters.roster_view import RosterView
from identity.commands import accounts, admin, audit_job, registration, reminders, roster_job, sanctions
from identity.commands import roster as importer
from identity.service import job_steps
from identity.settings import Settings
from pupns import jobs
from pupns.actors import actor_meta
from pupns.contracts.verification import RegistrationConfirmed
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError
from pupns.personal.provider import default_codec
from pupns.replay import rebuild
from pupns.roster_upload import upload_roster
from pupns_cli.generate import generate_rows, roster_csv

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


@pytest.fixture
def store(store_for):
    store = store_for("identity")
    Projector.ensure_indexes(store.db)
    return store


def deps(store) -> Deps:
    """The use cases' dependencies, with the settings of the environment as it is now."""
    return Deps.of(store, Settings.from_env())


def upload(store, text: str, key: str | None = None, rows: int = 7) -> dict:
    def call(method: str, *args, **kwargs):
        use_case = {"stage_roster_chunks": roster_job.stage_chunks, "start_roster_import": roster_job.start_import}
        if method == "start_roster_import":
            return use_case[method](deps(store), *args, ADMIN, **kwargs)
        return use_case[method](deps(store), *args, ADMIN)
    return upload_roster(text, call, key, rows_per_chunk=rows)


def upload_keys(store, upload_id: str) -> int:
    """Data keys the key store holds for a staged upload (its chunks are sealed under `upload:<id>`)."""
    return deps(store).codec.keys.db.data_keys.count_documents({"nip": roster_job.upload_subject(upload_id)})


def input_of(store, job_id: str) -> str:
    return store.db[jobs.JOBS].find_one({"_id": job_id})["input"]["upload_id"]


def run_to_end(store, owner: str = "test") -> dict:
    for _ in range(200):
        jobs.run_pending(store, job_steps(default_codec()), owner, budget=5)
        active = store.db[jobs.JOBS].find_one({"status": {"$in": list(jobs.ACTIVE)}})
        if active is None:
            break
    return store.db[jobs.JOBS].find_one(sort=[("created_at", -1)])


def broken_roster(count: int) -> str:
    lines = roster_csv(count, seed=5).splitlines()
    bad = lines[12].split(",")
    bad[12] = "99"  # golongan
    lines[12] = ",".join(bad)
    lines.insert(20, "123,,,,,,,,,,,,,,,,,,,")
    return "\n".join(lines) + "\n"


def test_roster_job_imports_every_chunk_and_keeps_the_files_line_numbers(store):
    job = upload(store, broken_roster(40))
    assert job["status"] == "queued" and job["progress"] == {"done": 0, "total": 41}
    assert job["status_url"] == f"/api/v1/admin/jobs/{job['id']}" and job["id"].startswith("identity-")
    assert upload_keys(store, input_of(store, job["id"])) == 1
    run_to_end(store)
    done = jobs.get(store, job["id"])
    assert done["status"] == "done" and done["progress"] == {"done": 41, "total": 41} and done["finished_at"]
    result = done["result"]
    assert (result["imported"], result["unchanged"]) == (39, 0)
    assert [(r["line"], r["column"]) for r in result["rejected"]] == [(13, "golongan"), (21, "nik")]
    assert store.events.count_documents({"type": "RosterEntryImported"}) == 39
    assert store.db[INPUTS].count_documents({}) == 0  # the staged file is gone once imported
    assert upload_keys(store, input_of(store, job["id"])) == 0  # and so is its key
    again = upload(store, broken_roster(40))
    run_to_end(store)
    assert jobs.get(store, again["id"])["result"]["unchanged"] == 39
    assert store.events.count_documents({"type": "RosterEntryImported"}) == 39


def test_a_runner_that_dies_mid_step_leaves_nothing_and_the_next_one_finishes_exactly(store, monkeypatch):
    job = upload(store, roster_csv(50, seed=8))
    assert jobs.claim(store, "first", [roster_job.KIND])["_id"] == job["id"]  # then "first" dies
    assert jobs.claim(store, "second", [roster_job.KIND]) is None  # its lease holds the job meanwhile
    # It expires. A second ago, not "now": BSON times count milliseconds, so a lease ending in the very millisecond
    # of the next claim would still compare as held (the claim asks for `until < now`) and nothing would run.
    store.db[jobs.LEASES].update_one({"_id": job["id"]}, {"$set": {"until": datetime.now(UTC) - timedelta(seconds=1)}})
    real_apply = RosterView.apply
    calls = {"n": 0}

    def dies_in_the_middle(self, doc, session, pending=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-transaction")
        real_apply(self, doc, session, pending)
    monkeypatch.setattr(RosterView, "apply", dies_in_the_middle)
    jobs.run_pending(store, job_steps(default_codec()), "second", budget=5)
    monkeypatch.setattr(RosterView, "apply", real_apply)
    assert calls["n"] >= 3 and jobs.get(store, job["id"])["status"] == "running"
    run_to_end(store, "third")
    result = jobs.get(store, job["id"])["result"]
    assert (result["imported"], result["unchanged"], result["rejected"]) == (50, 0, [])
    nips = [e["nip"] for e in store.events.find({"type": "RosterEntryImported"})]
    assert len(nips) == len(set(nips)) == 50
    chunks = [e["data"]["cursor"]["chunk"] for e in store.read_stream(f"job-{job['id']}")
              if e["type"] == "JobProgressed"]
    assert chunks == list(range(1, 9))  # 50 rows in chunks of 7: every checkpoint once, in order


def test_the_same_idempotency_key_returns_the_same_job_and_drops_the_second_upload(store):
    keys = deps(store).codec.keys.db.data_keys
    subjects = lambda: {doc["nip"] for doc in keys.find({"nip": {"$regex": "^upload:"}}, {"nip": 1})}  # noqa: E731
    before = subjects()
    first = upload(store, roster_csv(5, seed=3), key="k-1")
    second = upload(store, roster_csv(5, seed=3), key="k-1")
    assert second["id"] == first["id"]
    assert store.db[jobs.JOBS].count_documents({}) == 1
    assert {d["upload_id"] for d in store.db[INPUTS].find()} == {
        store.db[jobs.JOBS].find_one()["input"]["upload_id"]}
    # the second upload's key went with its chunks
    assert subjects() - before == {roster_job.upload_subject(input_of(store, first["id"]))}


def test_jobs_are_admin_only_and_unknown_ids_are_not_found(store):
    verifier = {"id": "v", "role": "verifier", "instansi_kode": "3273"}
    with pytest.raises(AppError) as info:
        roster_job.stage_chunks(deps(store), "a" * 32, [], verifier)
    assert info.value.code == "forbidden"
    with pytest.raises(AppError) as info:
        jobs.get(store, "identity-nope")
    assert info.value.code == "not_found"
    with pytest.raises(AppError) as info:
        roster_job.start_import(deps(store), "b" * 32, ADMIN)
    assert info.value.code == "validation_error" and store.db[jobs.JOBS].count_documents({}) == 0


def test_close_is_a_job_that_marks_each_pns_once_and_replays(store):
    importer.import_roster(deps(store), roster_csv(30, seed=2), ADMIN)
    now = datetime.now(UTC)
    admin.set_campaign(deps(store), {"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(days=1)).isoformat()}, ADMIN)
    job = sanctions.close_campaign(deps(store), ADMIN, "close-1")
    assert job["kind"] == "campaign_close" and job["status"] == "queued" and job["progress"]["total"] == 30
    assert not admin.get_campaign(deps(store))["is_open"]  # the window closed before the job ran
    assert sanctions.close_campaign(deps(store), ADMIN, "close-1")["id"] == job["id"]
    monkey_batch = sanctions.BATCH
    sanctions.BATCH = 4  # several checkpoints
    try:
        run_to_end(store)
    finally:
        sanctions.BATCH = monkey_batch
    assert jobs.get(store, job["id"])["result"] == {"not_reregistered": 30}
    assert store.events.count_documents({"type": "CampaignClosed"}) == 1
    again = sanctions.close_campaign(deps(store), ADMIN)
    run_to_end(store)
    assert jobs.get(store, again["id"])["result"] == {"not_reregistered": 30}
    marked = [e["nip"] for e in store.events.find({"type": "MarkedNotReregistered"})]
    assert len(marked) == len(set(marked)) == 30
    projector = Projector(store.db)
    before = {name: list(store.db[name].find().sort("_id"))
              for name in projector.collections}
    rebuild(store, projector)
    assert {name: list(store.db[name].find().sort("_id"))
            for name in projector.collections} == before


def test_the_deadline_closes_the_campaign_once_by_itself(store):
    importer.import_roster(deps(store), roster_csv(6, seed=4), ADMIN)
    now = datetime.now(UTC)
    admin.set_campaign(deps(store), {"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(hours=1)).isoformat()}, ADMIN)
    assert sanctions.close_when_due(deps(store)) is None
    admin.set_campaign(deps(store), {"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now - timedelta(seconds=1)).isoformat()}, ADMIN)
    job = sanctions.close_when_due(deps(store))
    assert job and sanctions.close_when_due(deps(store)) is None  # a second replica's tick finds it closed
    run_to_end(store)
    assert jobs.get(store, job["id"])["result"] == {"not_reregistered": 6}
    assert store.events.count_documents({"type": "CampaignClosed"}) == 1
    assert store.read_stream(f"job-{job['id']}")[0]["meta"]["actor"] == "system"


def test_the_deadline_leaves_a_window_an_administrator_is_closing_to_them(store):
    """The clock's tick between an administrator's close and their job (seen in CI) adds no close of its own;
    a close the clock itself recorded but whose job was never stored (the process died) is finished by it."""
    importer.import_roster(deps(store), roster_csv(3, seed=4), ADMIN)
    now = datetime.now(UTC)
    window = {"opens_at": (now - timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(hours=1)).isoformat()}
    admin.set_campaign(deps(store), window, ADMIN)
    sanctions._close_window(deps(store), now, actor_meta(ADMIN), None, by_deadline=False)  # no job yet
    assert sanctions.close_when_due(deps(store)) is None
    assert store.events.count_documents({"type": "CampaignClosed"}) == 1
    assert not store.db[jobs.JOBS].find_one()

    admin.set_campaign(deps(store), window, ADMIN)  # reopened; then the clock closes it and dies before its job
    sanctions._close_window(deps(store), datetime.now(UTC), actor_meta(None), None, by_deadline=True)
    job = sanctions.close_when_due(deps(store))
    assert job and job["kind"] == "campaign_close"
    assert store.events.count_documents({"type": "CampaignClosed"}) == 2  # one per window closed, none doubled
    assert sanctions.close_when_due(deps(store)) is None


def test_reminders_go_once_per_registered_pns_without_submission_and_anew_after_an_extension(store, monkeypatch):
    monkeypatch.setenv("PUPNS_REMINDERS", "7d,1d")
    importer.import_roster(deps(store), roster_csv(4, seed=6), ADMIN)
    rows = list(generate_rows(4, seed=6))
    now = datetime.now(UTC)
    admin.set_campaign(deps(store), {"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(days=2)).isoformat()}, ADMIN)
    for row in rows[:3]:
        registration.register(deps(store), {"nip": row["nip"], "nik": row["nik"], "email": f"{row['nip']}@contoh.go.id",
                                      "password": "rahasia-sekali-1"})
    confirmed = RegistrationConfirmed(event_id="e1", nip=rows[2]["nip"], registration_number="x", roster={})
    accounts.confirm(deps(store), confirmed, {}, "k1")
    accounts.change_form_status(deps(store), rows[2]["nip"], "submitted", None, {}, "k2")

    job = reminders.schedule_due(deps(store))  # two days left: the 7-day reminder is due, the 1-day one not yet
    assert job["kind"] == "reminders" and job["progress"]["total"] == 2
    assert reminders.schedule_due(deps(store)) is None  # once per deadline and offset (any replica)
    run_to_end(store)
    assert jobs.get(store, job["id"])["result"] == {"reminded": 2}
    due = list(store.events.find({"type": "ReminderDue"}))
    assert sorted(e["nip"] for e in due) == sorted(r["nip"] for r in rows[:2])  # not the one who submitted
    assert {e["data"]["before"] for e in due} == {"7d"} and due[0]["stream"] == f"reminder-{due[0]['nip']}"
    assert reminders.schedule_due(deps(store), at=now + timedelta(hours=12)) is None
    assert reminders.schedule_due(deps(store), at=now + timedelta(days=1, hours=1))["progress"]["total"] == 2
    admin.set_campaign(deps(store), {"opens_at": (now - timedelta(days=1)).isoformat(),  # extended: a new deadline
                               "closes_at": (now + timedelta(days=5)).isoformat()}, ADMIN)
    assert reminders.schedule_due(deps(store))["progress"]["total"] == 2
    run_to_end(store)
    assert store.events.count_documents({"type": "ReminderDue"}) == 6
    assert reminders.offsets("7d, 1d,bogus,12h") == ["7d", "1d", "12h"]


def test_a_step_that_meets_a_concurrent_write_is_tried_again_after_a_pause(store, monkeypatch):
    job = upload(store, roster_csv(3, seed=12))
    real = roster_job._import_chunk

    def conflicting(*args):
        raise ConcurrencyError("roster-x", 0)
    monkeypatch.setattr(roster_job, "_import_chunk", conflicting)
    pauses = []
    for _ in range(5):  # conflicts in a row: the pause doubles (each try redoes the step), up to a ceiling
        store.db[jobs.LEASES].update_one({"_id": job["id"]}, {"$set": {"retry_at": None}})
        jobs.run_pending(store, job_steps(default_codec()), "a", budget=5)
        lease = store.db[jobs.LEASES].find_one({"_id": job["id"]})
        pauses.append(round((lease["retry_at"] - datetime.now(UTC)).total_seconds()))
        assert jobs.claim(store, "a", [roster_job.KIND]) is None  # not even its own runner, until the pause is over
    assert pauses == [2, 4, 8, 10, 10]
    jobs.JobRun(store, store.db[jobs.JOBS].find_one({"_id": job["id"]}), "a").checkpoint(0, {"chunk": 0})
    assert store.db[jobs.LEASES].find_one({"_id": job["id"]})["conflicts"] == 0  # a step went through: afresh
    monkeypatch.setattr(roster_job, "_import_chunk", real)
    store.db[jobs.LEASES].update_one({"_id": job["id"]}, {"$set": {"retry_at": datetime.now(UTC)}})
    run_to_end(store, "a")
    assert jobs.get(store, job["id"])["result"]["imported"] == 3


def test_unexpected_errors_fail_a_job_only_when_they_come_in_a_row(store, monkeypatch):
    job = upload(store, roster_csv(42, seed=13))  # six chunks of seven rows
    real, tries = roster_job._import_chunk, []

    def every_first_try_fails(*args, **kwargs):
        tries.append(1)
        if len(tries) % 2:
            raise RuntimeError("a transient fault")
        return real(*args, **kwargs)
    monkeypatch.setattr(roster_job, "_import_chunk", every_first_try_fails)
    finished = run_to_end(store)
    # Six failures in all, each followed by a chunk that went through: never MAX_FAILURES in a row.
    assert len(tries) == 12 and finished["status"] == "done" and finished["result"]["imported"] == 42
    job = upload(store, roster_csv(7, seed=14))
    monkeypatch.setattr(roster_job, "_import_chunk", lambda *args, **kwargs: 1 / 0)
    failed = run_to_end(store)
    assert failed["_id"] == job["id"] and failed["status"] == "failed"
    assert failed["error"]["code"] == "internal_error"


def test_chunks_of_an_upload_no_job_took_are_dropped_once_old(store):
    roster_job.stage_chunks(deps(store), "a" * 32, [{"n": 0, "text": "nip\n", "lines": [[1, 1]], "rows": 0}], ADMIN)
    running = upload(store, roster_csv(3, seed=1))
    assert roster_job.drop_abandoned_uploads(deps(store)) == 0  # young
    assert upload_keys(store, "a" * 32) == 1
    assert roster_job.drop_abandoned_uploads(deps(store), older_than=timedelta(0)) == 1  # the job's input stays
    assert {d["upload_id"] for d in store.db[INPUTS].find()} == {
        store.db[jobs.JOBS].find_one({"_id": running["id"]})["input"]["upload_id"]}
    assert upload_keys(store, "a" * 32) == 0 and upload_keys(store, input_of(store, running["id"])) == 1


def test_asking_for_the_audit_while_one_runs_joins_it_and_its_key_names_it(store):
    first = audit_job.start(deps(store), ADMIN)
    other_admin = {**ADMIN, "id": "admin.b"}
    joined = audit_job.start(deps(store), other_admin, "reload-1")
    assert joined["id"] == first["id"] and joined["kind"] == "audit_verify"
    store.db[jobs.JOBS].update_one({"_id": first["id"]}, {"$set": {"status": "done"}})  # as if it had ended
    assert audit_job.start(deps(store), other_admin, "reload-1")["id"] == first["id"]  # the key still names it
    fresh = audit_job.start(deps(store), other_admin, "reload-2")
    assert fresh["id"] != first["id"] and fresh["status"] == "queued"  # once it ended, a new check
