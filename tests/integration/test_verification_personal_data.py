"""verification and personal data (SPEC §7, issue 13) on real RabbitMQ and SecantusDB: what it copies from identity
and forms is sealed before it is stored; a verifier of the instansi (and an admin) reads it opened, `changes`
included; after erasure it reads as null with `_erased` and the read models still replay equal."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from nameko.standalone.events import event_dispatcher

from pupns.contracts.forms import FormSubmitted
from pupns.contracts.identity import RegistrationSubmitted
from pupns.errors import AppError
from pupns.nip import make_nik
from pupns.personal import KeyStore, has_personal_fields
from pupns.replay import check
from pupns_dev.waiting import wait_until
from tests.factories import BORN, NIP, roster_row
from tests.leaks import clear_values_in
from tests.rpc import signed_proxy
from verification.adapters.projections import Projector
from verification.service import VerificationService

VERIFIER = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}
OTHER = {"id": "verif-b2", "role": "verifier", "instansi_kode": "B2"}
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


class Person:
    """Budi's personal values, unique per run so a dump search cannot match anything else."""

    def __init__(self, nip: str = NIP) -> None:
        tag = uuid.uuid4().hex
        self.nip = nip
        self.roster_nik = roster_row()["nik"]
        self.nik = make_nik("320101", BORN, "L", 2)  # corrected against the roster: shows in `changes`
        self.npwp = f"{uuid.uuid4().int % 10**15:015d}"
        self.alamat = f"Jl. Rahasia No. {tag[:6]}, Bandung"
        self.no_hp = f"0812{uuid.uuid4().int % 10**8:08d}"
        self.email = f"rahasia.{tag[:8]}@example.go.id"
        self.bpjs = f"{uuid.uuid4().int % 10**13:013d}"
        self.taspen = f"TASPEN-{tag[8:16]}"

    def texts(self) -> list[str]:
        return [self.roster_nik, self.nik, self.npwp, self.alamat, self.no_hp, self.email, self.bpjs, self.taspen]

    def sections(self) -> dict:
        return {"data_utama": {"nama": "Budi", "tanggal_lahir": "1985-03-12", "nik": self.nik, "npwp": self.npwp,
                               "alamat": self.alamat, "no_hp": self.no_hp, "email": self.email},
                "data_posisi": {"instansi_kode": "A1", "unit_kerja": "Diskominfo", "jabatan": "Pranata Komputer",
                                "jenis_jabatan": "fungsional_tertentu"},
                "data_stakeholder": {"bpjs_kesehatan_nomor": self.bpjs, "taspen_nomor": self.taspen},
                "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "ITB", "document_id": "doc-1"}]}


def message(contract: type, nip: str, data: dict) -> dict:
    """An internal message as the relay publishes it (values in clear: the worst case of a producer not sealing)."""
    return {"event_id": uuid.uuid4().hex, "stream": f"x-{nip}", "version": 1, "type": contract.TYPE,
            "schema_version": contract.VERSION, "occurred_at": datetime.now(UTC).isoformat(), "nip": nip,
            "instansi_kode": "A1", "data": data, "meta": {"actor": nip, "role": "pns"}}


def hand_over(dispatch, person: Person) -> None:
    """identity's registration and forms' submission of this PNS."""
    dispatch("identity", "RegistrationSubmitted", message(RegistrationSubmitted, person.nip, {
        "registration_number": f"PUPNS-2026-{uuid.uuid4().hex[:8].upper()}", "nip": person.nip,
        "email": person.email, "nama": "Budi", "instansi_kode": "A1", "instansi_nama": "Kota Bandung",
        "roster": roster_row(nip=person.nip), "registered_at": datetime.now(UTC).isoformat()}))
    dispatch("forms", "FormSubmitted", message(FormSubmitted, person.nip, {
        "sections": person.sections(), "submitted_at": datetime.now(UTC).isoformat(), "anomalies": [],
        "instansi_kode": "A1", "nama": "Budi"}))


def leaks(db, person: Person) -> list[str]:
    """Every document of every collection of the database, searched for each clear value."""
    return clear_values_in(db, person.texts())


@pytest.fixture
def verification(runner_factory, rabbit_config, db_prefix, monkeypatch):
    # No key cache: an erasure in this test's key store is seen by the service at once.
    monkeypatch.setenv("PUPNS_KEY_CACHE_TTL", "0")
    runner_factory(rabbit_config, VerificationService).start()
    with signed_proxy("verification", rabbit_config, timeout=60) as proxy:
        yield proxy


def test_registrations_and_submissions_are_sealed_opened_for_staff_and_null_after_erasure(
        verification, rabbit_config, store_for):
    person, store = Person(), store_for("verification")
    hand_over(event_dispatcher(rabbit_config), person)
    wait_until(lambda: store.db["submissions"].find_one({"_id": NIP}) and store.db["registrations"].find_one(
        {"_id": NIP}), message="registration and submission received")
    assert verification.confirm_registration(NIP, VERIFIER)["status"] == "confirmed"
    assert verification.approve_submission(NIP, VERIFIER)["status"] == "verified"

    # At rest: no clear value anywhere; every stored event and read model holds tokens instead.
    assert leaks(store.db, person) == []
    for doc in store.db["events"].find():
        assert has_personal_fields(doc["data"]) == [], doc["type"]
    versions = {doc["type"]: doc["schema_version"] for doc in store.db["events"].find()}
    assert versions == {"RegistrationReceived": 2, "RegistrationConfirmed": 2, "SubmissionReceived": 2,
                        "SubmissionApproved": 2}

    # A verifier of the instansi and an admin read them opened, the changes against the roster included.
    for reader in (VERIFIER, ADMIN):
        seen = verification.get_submission(NIP, reader)
        assert seen["sections"] == person.sections() and "_erased" not in seen
        assert seen["roster"]["nik"] == person.roster_nik
        assert {"section": "data_utama", "field": "nik", "from": person.roster_nik, "to": person.nik} \
            in seen["changes"]
    with pytest.raises(AppError):
        verification.get_submission(NIP, OTHER)
    items = verification.list_registrations(VERIFIER, status="confirmed")["items"]
    assert [i["nip"] for i in items] == [NIP] and not has_personal_fields(items)

    KeyStore.from_env().erase(NIP, reason="test", actor="admin")
    gone = verification.get_submission(NIP, VERIFIER)
    assert gone["_erased"] is True and gone["roster"]["nik"] is None
    assert gone["sections"]["data_utama"]["nik"] is None and gone["sections"]["data_utama"]["nama"] == "Budi"
    assert gone["sections"]["data_stakeholder"]["taspen_nomor"] is None
    assert {"section": "data_utama", "field": "nik", "from": None, "to": None} not in gone["changes"]
    assert check(store, Projector)["equal"]
