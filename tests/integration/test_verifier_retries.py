"""A verifier's decision retried with its Idempotency-Key after a timeout whose first try went through gets the
first answer, not `invalid_state`, and is stored once (issue 9: the replicas run failed on such a retry)."""
from __future__ import annotations

import pytest

from pupns.errors import AppError
from tests.integration.test_racing_verifiers import new_nip, registered, submitted
from verification import commands
from verification.adapters import Deps

VERIFIER = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}
COLLEAGUE = {"id": "verif-a1-2", "role": "verifier", "instansi_kode": "A1"}


def refused(call) -> str:
    with pytest.raises(AppError) as err:
        call()
    return err.value.code


def test_a_confirm_retried_with_its_key_answers_as_the_first_time(store_for):
    store, nip = store_for("verification"), new_nip(1)
    registered(store, nip)
    deps = Deps.of(store)
    first = commands.confirm_registration(deps, nip, VERIFIER, "confirm-1")
    before = store.count()
    assert commands.confirm_registration(Deps.of(store), nip, VERIFIER, "confirm-1") == first
    assert store.count() == before
    assert refused(lambda: commands.confirm_registration(deps, nip, VERIFIER, "confirm-2")) == "invalid_state"
    assert refused(lambda: commands.confirm_registration(deps, nip, VERIFIER)) == "invalid_state"
    # the key is the verifier's own: a colleague reusing it is not answered with someone else's decision
    assert refused(lambda: commands.confirm_registration(deps, nip, COLLEAGUE, "confirm-1")) == "invalid_state"
    assert [e["type"] for e in store.iterate_all()].count("RegistrationConfirmed") == 1


def test_approve_and_return_retried_with_their_keys(store_for):
    store = store_for("verification")
    deps = Deps.of(store)
    approved_nip, returned_nip = new_nip(2), new_nip(3)
    for nip in (approved_nip, returned_nip):
        submitted(store, nip)
    approved = commands.approve_submission(deps, approved_nip, VERIFIER, "approve-1")
    assert approved == {"nip": approved_nip, "status": "verified"}
    notes = {"data_utama": "Nama tidak sesuai ijazah."}
    returned = commands.return_submission(deps, returned_nip, notes, VERIFIER, "return-1")
    before = store.count()
    assert commands.approve_submission(deps, approved_nip, VERIFIER, "approve-1") == approved
    assert commands.return_submission(deps, returned_nip, notes, VERIFIER, "return-1") == returned
    assert store.count() == before
    assert refused(lambda: commands.approve_submission(deps, approved_nip, VERIFIER, "approve-2")) == "invalid_state"



def overlapped(target, name: str, first_try) -> None:
    """Replace `target.name` for one call: the call runs, then the first try commits (and the original returns)."""
    original = getattr(target, name)

    def then_first_try(*args):
        setattr(target, name, original)
        found = original(*args)
        first_try()
        return found
    setattr(target, name, then_first_try)


def test_a_retry_that_overlaps_its_first_try_gets_the_first_answer(store_for):
    """The first try commits after its retry looked for the key, or after the retry loaded the record: the retry
    gets the first answer, not invalid_state, and the decision is stored once."""
    store = store_for("verification")
    for n, (target, name) in enumerate(((store, "recall"), (None, "get"))):
        nip = new_nip(10 + n)
        registered(store, nip)
        deps = Deps.of(store)
        first_try = lambda nip=nip: commands.confirm_registration(Deps.of(store), nip, VERIFIER, "confirm-1")  # noqa: E731
        overlapped(target or deps.registrations, name, first_try)
        assert commands.confirm_registration(deps, nip, VERIFIER, "confirm-1") == {"nip": nip, "status": "confirmed"}
        assert [e["type"] for e in store.read_stream(f"registration-{nip}")] == ["RegistrationReceived",
                                                                                 "RegistrationConfirmed"]
