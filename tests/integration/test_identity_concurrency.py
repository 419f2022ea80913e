"""identity's appends carry a real optimistic concurrency check (pupns.repository), on the real SecantusDB."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands import admin, registration, sanctions, staff
from identity.commands import roster as importer
from identity.domain.accounts import PnsAccount
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError
from pupns.repository import Repository
from pupns_cli.generate import generate_rows, roster_csv

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
PASSWORD = "rahasia-negara-1"


@pytest.fixture
def deps(store_for) -> Deps:
    store = store_for("identity")
    Projector.ensure_indexes(store.db)
    return Deps.of(store)


def test_a_save_after_someone_else_wrote_the_stream_is_refused(deps):
    admin.create_verifier(deps, {"username": "verif1", "password": PASSWORD, "instansi_kode": "4011"}, ADMIN)
    stale = deps.staff.get("verif1")
    staff.set_active(deps, "verif1", False, "cuti", ADMIN)  # another writer moves the stream on
    stale.set_active(False, "cuti juga")
    with pytest.raises(ConcurrencyError):
        deps.staff.save(stale, {"actor": "admin", "role": "admin"})
    assert [e["type"] for e in deps.store.read_stream("staff-verif1")] == ["StaffAccountCreated",
                                                                          "StaffAccountDisabled"]


def test_a_command_that_met_a_concurrent_write_is_run_again_on_the_new_state(deps):
    admin.create_verifier(deps, {"username": "verif2", "password": PASSWORD, "instansi_kode": "4011"}, ADMIN)
    calls = []

    def disable(account) -> None:
        calls.append(account.version)
        if len(calls) == 1:  # between this load and its save, an administrator disables the account
            staff.set_active(deps, "verif2", False, "cuti", ADMIN)
        account.set_active(False, "cuti")

    deps.staff.run("verif2", disable, {"actor": "admin", "role": "admin"})
    assert calls == [1, 2]  # the rerun saw the disable and, the account being disabled already, recorded nothing
    assert [e["type"] for e in deps.store.read_stream("staff-verif2")] == ["StaffAccountCreated",
                                                                          "StaffAccountDisabled"]


def test_a_roster_record_saved_after_a_concurrent_wrong_nik_attempt_is_refused(deps):
    importer.import_roster(deps, roster_csv(2, seed=41), ADMIN)
    [row, _] = list(generate_rows(2, seed=41))
    now = datetime.now(UTC)
    admin.set_campaign(deps, {"opens_at": (now - timedelta(days=1)).isoformat(),
                              "closes_at": (now + timedelta(days=1)).isoformat()}, ADMIN)
    first = registration.register(deps, {"nip": row["nip"], "nik": row["nik"], "email": "a@b.go.id",
                                         "password": PASSWORD})
    assert first["status"] == "pending_confirmation"
    record = deps.records.get(row["nip"])
    record.mark_not_reregistered("2026-12-31T23:59:59+07:00")
    deps.records.save(record, {"actor": "system", "role": "system"})
    assert sanctions.reinstate(deps, row["nip"], "SK pembatalan", ADMIN)["status"] == "pending_confirmation"
    stale = deps.records.get(row["nip"])
    deps.records.run(row["nip"], lambda r: r.note_nik_mismatch(now.isoformat()), {"actor": "x", "role": "anonymous"})
    stale.mark_not_reregistered("2027-01-31T23:59:59+07:00")
    with pytest.raises(ConcurrencyError):
        deps.records.save(stale, {"actor": "system", "role": "system"})


def registrable(deps, seed: int) -> dict:
    """A registration request for a roster PNS, with the campaign open."""
    importer.import_roster(deps, roster_csv(2, seed=seed), ADMIN)
    [row, _] = list(generate_rows(2, seed=seed))
    now = datetime.now(UTC)
    admin.set_campaign(deps, {"opens_at": (now - timedelta(days=1)).isoformat(),
                              "closes_at": (now + timedelta(days=1)).isoformat()}, ADMIN)
    return {"nip": row["nip"], "nik": row["nik"], "email": "a@b.go.id", "password": PASSWORD}


def test_a_retry_of_a_registration_still_running_gets_the_first_answer(deps, monkeypatch):
    """A client retries (same Idempotency-Key) while its first try still runs: the retry passes the checks before
    the first commits, collides at its own save, and then answers what the first try answered."""
    request = registrable(deps, seed=43)
    first = registration.register(deps, request, idempotency_key="retry-1")
    # The retry as it runs when it read the account before the first try committed, and met the first try's
    # uncommitted writes at its save (a write conflict: ConcurrencyError, not yet the key's duplicate). A first try
    # reads no key record (the key's unique insert is its check): the retry reads it once, after the conflict.
    recall, get, save = deps.store.recall, Repository.get, Repository.save
    calls = {"recall": 0, "get": 0, "save": 0}

    def recall_counted(key):
        calls["recall"] += 1
        return recall(key)

    def get_before_commit(repository, id):
        calls["get"] += 1
        return PnsAccount(id) if calls["get"] == 1 else get(repository, id)

    def save_in_conflict(repository, aggregate, *args, **kwargs):
        calls["save"] += 1
        if calls["save"] == 1:
            raise ConcurrencyError(repository.stream_of(aggregate.id), aggregate.version)
        return save(repository, aggregate, *args, **kwargs)

    monkeypatch.setattr(deps.store, "recall", recall_counted)
    monkeypatch.setattr(Repository, "get", get_before_commit)
    monkeypatch.setattr(Repository, "save", save_in_conflict)
    assert registration.register(deps, request, idempotency_key="retry-1") == first
    assert calls == {"recall": 1, "get": 2, "save": 1}  # after the conflict: the first try's answer, no 2nd save


def test_a_retry_that_finds_the_account_registered_by_its_own_first_try_gets_the_first_answer(deps, monkeypatch):
    """The retry reads the account as registered (by its own first try): the answer is still the first try's, not
    already_registered. Its key is looked up once, after the account read, so a first try that commits while the
    retry runs is always seen (a look before the account read could miss it)."""
    request = registrable(deps, seed=44)
    first = registration.register(deps, request, idempotency_key="retry-2")
    recall, looks = deps.store.recall, []
    monkeypatch.setattr(deps.store, "recall", lambda key: looks.append(key) or recall(key))
    assert registration.register(deps, request, idempotency_key="retry-2") == first
    assert looks == ["register:retry-2"]
    other = {**request, "email": "lain@b.go.id"}  # another request under no key: the NIP is taken
    with pytest.raises(AppError, match="already_registered"):
        registration.register(deps, other)
