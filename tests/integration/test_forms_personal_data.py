"""forms and personal data (SPEC §7, issue 13) on real RabbitMQ and SecantusDB: every personal field of the form
and of its roster copy is sealed before it is stored; the PNS's own reads open them; after erasure they read as
null with `_erased`, the read models still replay equal, and an erased PNS no longer makes a NIK "shared"."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from nameko.standalone.events import event_dispatcher

from forms import commands
from forms.adapters import Deps
from forms.adapters.projections import Projector
from forms.service import FormsService
from pupns.nip import make_nip
from pupns.personal import KeyStore, is_sealed
from pupns.replay import check
from pupns_dev.waiting import wait_until
from tests.factories import NIP, roster_row, upstream_message
from tests.integration.test_forms_application import UPSTREAM, forms_store_with_open_campaign
from tests.leaks import clear_values_in
from tests.rpc import signed_proxy

OTHER_NIP = make_nip(date(1987, 6, 1), date(2012, 1, 1), "L")


class Person:
    """Budi's personal values, unique per run so a dump search cannot match anything else."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex
        self.nik = roster_row()["nik"]
        self.npwp = f"{uuid.uuid4().int % 10**15:015d}"
        self.alamat = f"Jl. Rahasia No. {tag[:6]}, Bandung"
        self.no_hp = f"0812{uuid.uuid4().int % 10**8:08d}"
        self.email = f"rahasia.{tag[:8]}@example.go.id"
        self.bpjs = f"{uuid.uuid4().int % 10**13:013d}"
        self.taspen = f"TASPEN-{tag[8:16]}"

    def texts(self) -> list[str]:
        return [self.nik, self.npwp, self.alamat, self.no_hp, self.email, self.bpjs, self.taspen]


def leaks(db, person: Person) -> list[str]:
    """Every document of every collection of the database, searched for each clear value."""
    return clear_values_in(db, person.texts())


@pytest.fixture
def forms(runner_factory, rabbit_config, db_prefix, monkeypatch):
    # No key cache: an erasure in this test's key store is seen by the service at once.
    monkeypatch.setenv("PUPNS_KEY_CACHE_TTL", "0")
    runner_factory(rabbit_config, FormsService).start()
    with signed_proxy("forms", rabbit_config, timeout=60) as proxy:
        yield proxy


def test_the_form_is_sealed_at_rest_opened_for_the_pns_and_null_after_erasure(forms, rabbit_config, store_for):
    person, store = Person(), forms_store_with_open_campaign(store_for)
    # The confirmation in clear (the worst case: a producer that does not seal yet): forms must store none.
    event_dispatcher(rabbit_config)("verification", "RegistrationConfirmed", upstream_message(
        "RegistrationConfirmed", {"registration_number": "PUPNS-2026-ABCD1234", "nama": "Budi",
                                  "instansi_kode": "A1", "roster": roster_row(), "email": person.email}, nip=NIP))
    form = wait_until(lambda: store.db["forms"].find_one({"_id": NIP}) and forms.get_form(NIP), message="form open")
    assert form["sections"]["data_utama"]["nik"] == person.nik and form["sections"]["data_utama"]["email"] \
        == person.email
    utama = {**form["sections"]["data_utama"], "npwp": person.npwp, "alamat": person.alamat, "no_hp": person.no_hp}
    version = forms.save_section(NIP, "data_utama", utama, form["version"])["version"]
    version = forms.save_section(NIP, "data_stakeholder", {"bpjs_kesehatan_nomor": person.bpjs,
                                                           "taspen_nomor": person.taspen}, version)["version"]
    forms.save_section(NIP, "riwayat_pendidikan", [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}],
                       version)
    assert forms.submit_form(NIP)["status"] == "submitted"

    # At rest: no clear value in any collection (events, read models, lookups); the tokens are there instead.
    assert leaks(store.db, person) == []
    submitted = store.read_stream(f"form-{NIP}")[-1]
    assert submitted["type"] == "FormSubmitted" and submitted["schema_version"] == 2
    assert all(is_sealed(submitted["data"]["sections"]["data_utama"][f]) for f in ("nik", "npwp", "alamat", "no_hp",
                                                                                  "email"))
    assert is_sealed(store.db["forms"].find_one({"_id": NIP})["roster"]["nik"])

    # The PNS's own reads open them (the form, the Profil PNS document's data).
    opened = forms.get_form(NIP)
    assert opened["sections"]["data_utama"] == {**utama, "email": person.email}
    assert opened["sections"]["data_stakeholder"]["taspen_nomor"] == person.taspen and "_erased" not in opened
    profile = forms.get_profile_data(NIP)
    assert profile["sections"]["data_utama"]["alamat"] == person.alamat and profile["roster"]["nik"] == person.nik
    assert [a["code"] for a in profile["anomalies"]] == []  # the NIK rule ran on the clear NIK: it agrees

    KeyStore.from_env().erase(NIP, reason="test", actor="admin")
    gone = forms.get_form(NIP)
    assert gone["_erased"] is True and gone["sections"]["data_utama"]["nik"] is None
    assert gone["sections"]["data_stakeholder"]["bpjs_kesehatan_nomor"] is None
    assert gone["sections"]["data_utama"]["nama"] == "Budi"  # not personal: still there
    profile = forms.get_profile_data(NIP)
    assert profile["_erased"] is True and profile["roster"]["nik"] is None
    assert profile["sections"]["data_utama"]["email"] is None
    assert check(store, Projector)["equal"]


def test_an_erased_pns_does_not_make_a_nik_shared(store_for):
    store = forms_store_with_open_campaign(store_for)
    nik = roster_row()["nik"]
    for nip in (NIP, OTHER_NIP):
        row = roster_row(nip=nip, nik=nik) if nip == NIP else roster_row(nip=nip, nik=nik, tanggal_lahir="1987-06-01",
                                                                          tmt_cpns="2012-01-01")
        commands.open_form(Deps.of(store), nip, "A1", row, None, UPSTREAM, f"k-open-{nip}")
    assert "nik_duplicate" in [a["code"] for a in store.db["forms"].find_one({"_id": NIP})["anomalies"]]
    Deps.of(store).codec.keys.erase(OTHER_NIP, reason="test", actor="admin")  # this process's key store
    commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan",
                          [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}], 1)
    commands.submit_form(Deps.of(store), NIP)
    submitted = store.read_stream(f"form-{NIP}")[-1]
    # The blind index keeps both NIPs (it survives erasure), but the erased one no longer counts.
    assert submitted["type"] == "FormSubmitted" and submitted["data"]["anomalies"] == []
    assert check(store, Projector)["equal"]
