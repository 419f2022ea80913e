"""The same NIK on two NIPs is flagged on every save (not only on roster import), from forms' own events."""
from __future__ import annotations

from datetime import date

import pytest

from forms import commands
from forms.adapters import Deps, nik_index
from forms.adapters.projections import Projector
from pupns.contracts.forms import FormSubmitted
from pupns.nip import make_nik, make_nip
from pupns.replay import rebuild
from tests.factories import NIP, roster_row, upstream_message
from tests.integration.test_forms_application import UPSTREAM, forms_store_with_open_campaign
from verification import commands as verification
from verification.adapters import Deps as VerificationDeps
from verification.adapters.projections import Projector as VerificationProjector

OTHER_NIP = make_nip(date(1987, 6, 1), date(2012, 1, 1), "L")
OTHER_NIK = make_nik("320101", date(1987, 6, 1), "L", 7)
VERIFIER = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}


def codes(store, nip: str) -> list[str]:
    """The flags in the read model (what verifiers and the submission get)."""
    return [a["code"] for a in store.db["forms"].find_one({"_id": nip})["anomalies"]]


def open_form(store, nip: str, row: dict) -> None:
    commands.open_form(Deps.of(store), nip, "A1", row, None, UPSTREAM, f"k-open-{nip}")


def save_nik(store, nip: str, nik: str) -> None:
    form = commands.get_form(Deps.of(store), nip)
    commands.save_section(Deps.of(store), nip, "data_utama", {**form["sections"]["data_utama"], "nik": nik},
                             form["version"])


@pytest.fixture
def store(store_for):
    store = forms_store_with_open_campaign(store_for)
    open_form(store, NIP, roster_row())
    open_form(store, OTHER_NIP, roster_row(nip=OTHER_NIP, nik=OTHER_NIK, nama="Andi", tanggal_lahir="1987-06-01",
                                           tmt_cpns="2012-01-01"))
    return store


def test_saving_another_nips_nik_flags_both_forms_and_correcting_it_clears_both(store):
    assert codes(store, NIP) == [] and codes(store, OTHER_NIP) == []
    save_nik(store, OTHER_NIP, roster_row()["nik"])  # Andi types Budi's NIK (and it disagrees with his NIP)
    assert codes(store, OTHER_NIP) == ["nik_nip_mismatch", "nik_duplicate"]
    assert codes(store, NIP) == ["nik_duplicate"]
    save_nik(store, OTHER_NIP, OTHER_NIK)
    assert codes(store, OTHER_NIP) == [] and codes(store, NIP) == []


def test_a_pns_does_not_learn_that_someone_else_holds_a_nik_but_the_verifier_does(store, store_for):
    save_nik(store, OTHER_NIP, roster_row()["nik"])
    assert "nik_duplicate" not in [a["code"] for a in commands.get_form(Deps.of(store), OTHER_NIP)["anomalies"]]
    form = commands.get_form(Deps.of(store), NIP)
    commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan", [{"tingkat": "S1", "nama_sekolah": "ITB",
                                                                 "tahun_lulus": 2008}], form["version"])
    commands.submit_form(Deps.of(store), NIP)
    submitted = store.read_stream(f"form-{NIP}")[-1]
    assert [a["code"] for a in submitted["data"]["anomalies"]] == ["nik_duplicate"]

    verification_store = store_for("verification")
    VerificationProjector.ensure_indexes(verification_store.db)
    message = upstream_message("FormSubmitted", submitted["data"], nip=NIP)
    verification.receive_submission(VerificationDeps.of(verification_store), FormSubmitted.from_message(message),
                                    verification.consumer_meta(message), f"k-{message['event_id']}")
    detail = verification.get_submission(VerificationDeps.of(verification_store), NIP, VERIFIER)
    assert detail["anomalies"][0]["code"] == "nik_duplicate"
    assert detail["anomalies"][0]["message"] == "NIK yang sama tercatat pada NIP lain."


def test_the_lookup_holds_no_nik_in_clear_and_replay_rebuilds_the_same_read_models(store):
    save_nik(store, OTHER_NIP, roster_row()["nik"])
    holders = list(store.db[nik_index.COLLECTION].find())
    assert [sorted(h["nips"]) for h in holders] == [sorted([NIP, OTHER_NIP])]
    assert roster_row()["nik"] not in repr(holders) and OTHER_NIK not in repr(holders)
    before = {name: list(store.db[name].find().sort("_id")) for name in Projector.collections}
    rebuild(store, Projector(store.db))
    after = {name: list(store.db[name].find().sort("_id")) for name in Projector.collections}
    assert after == before
