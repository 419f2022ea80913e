"""Public events: the translator's output validates against the published JSON Schemas and carries no personal
field (SPEC §7); a granted subscriber's copy is tested in test_subscriber_grants.py."""
import json
import pathlib
import uuid

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pupns.personal import PERSONAL_FIELDS
from verification.adapters.public_events import PublicEvents

public_events = PublicEvents(lambda: {}, lambda: None, ttl=0)  # no subscriber granted anything

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"
NIP = "198503122010011001"
SECTIONS = {
    "data_utama": {"nama": "Budi", "gelar_depan": None, "gelar_belakang": "S.Kom", "tempat_lahir": "Bandung",
                   "tanggal_lahir": "1985-03-12", "jenis_kelamin": "L", "agama": "Islam", "status_perkawinan": None,
                   "nik": "3201011203850001", "npwp": "012345678901000", "alamat": "Jl. Dago 1",
                   "no_hp": "081234567890", "email": "budi@example.id"},
    "data_posisi": {"instansi_kode": "A1", "unit_kerja": "Diskominfo", "jenis_jabatan": "fungsional_tertentu",
                    "jabatan": "Pranata Komputer", "tmt_jabatan": None, "lokasi_kerja": None},
    "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "ITB", "jurusan": None, "tahun_lulus": 2008,
                            "nomor_ijazah": None, "document_id": "doc1"}],
    "riwayat_golongan": [{"golongan": "32", "tmt": "2014-04-01", "nomor_sk": None, "tanggal_sk": None,
                          "document_id": None}],
    "riwayat_jabatan": [{"jenis_jabatan": "fungsional_tertentu", "jabatan": "Pranata Komputer",
                         "unit_kerja": "Diskominfo", "tmt": None, "nomor_sk": None, "tanggal_sk": None,
                         "document_id": None}],
    "riwayat_diklat": [], "riwayat_penghargaan": [],
    "data_stakeholder": {"bapertarum_nomor": None, "bpjs_kesehatan_nomor": "0001234567890", "kpe_nomor": None,
                         "taspen_nomor": "TSP-0001"},
}


def schema(routing_key: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{routing_key}.json").read_text()),
                                format_checker=FormatChecker())


def stored(kind: str, data: dict) -> dict:
    return {"_id": uuid.uuid4().hex, "stream": f"x-{NIP}", "version": 1, "type": kind, "data": data, "nip": NIP,
            "instansi_kode": "A1", "meta": {"occurred_at": "2025-09-03T10:00:00.000+00:00"}}


CASES = [
    ("RegistrationConfirmed", {"registration_number": "PUPNS-2025-ABCD1234", "nama": "Budi", "instansi_kode": "A1",
                               "roster": {"nik": "3201011203850001"}}, "pns.registered.v1"),
    ("SubmissionApproved", {"sections": SECTIONS}, "pns.data_verified.v1"),
    ("SubmissionReturned", {"notes": {"data_utama": "Lengkapi NPWP", "riwayat_golongan": "SK?"}}, "pns.returned.v1"),
]


@pytest.mark.parametrize("kind,data,routing_key", CASES)
def test_translator_output_validates_and_carries_no_personal_field(kind, data, routing_key):
    doc = stored(kind, data)
    [(key, payload)] = list(public_events(doc))
    assert key == routing_key == payload["type"]
    schema(routing_key).validate(payload)
    text = json.dumps(payload)
    assert [f for f in PERSONAL_FIELDS if f'"{f}"' in text] == []
    assert [v for v in ("3201011203850001", "012345678901000", "Jl. Dago 1", "081234567890", "budi@example.id",
                        "0001234567890", "TSP-0001") if v in text] == []
    assert list(public_events(doc)) == [(key, payload)]  # the id is stable across re-publication


def test_other_events_stay_internal():
    assert list(public_events(stored("RegistrationReceived", {}))) == []
    assert list(public_events(stored("SubmissionReceived", {}))) == []


def test_schemas_reject_personal_fields_and_cover_every_public_event():
    assert {p.stem for p in SCHEMAS.glob("*.json")} == {
        "pns.registered.v1", "pns.data_verified.v1", "pns.returned.v1", "pns.not_reregistered.v1",
        "pns.reinstated.v1"}
    for path in SCHEMAS.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))
    leaking = {"event_id": str(uuid.uuid4()), "type": "pns.data_verified.v1", "occurred_at": "2025-09-03T10:00:00Z",
               "nip": NIP, "instansi_kode": "A1", "data": {"sections": {"data_utama": {"nik": "3201011203850001"}}}}
    assert not schema("pns.data_verified.v1").is_valid(leaking)
    for section, field, value in [("data_utama", "npwp", "012345678901000"), ("data_utama", "alamat", "Jl. Dago 1"),
                                  ("data_utama", "no_hp", "081234567890"), ("data_utama", "email", "b@example.id"),
                                  ("data_stakeholder", "bpjs_kesehatan_nomor", "0001234567890"),
                                  ("data_stakeholder", "taspen_nomor", "TSP-0001")]:
        other = {**leaking, "data": {"sections": {section: {field: value}}}}
        assert not schema("pns.data_verified.v1").is_valid(other), field
    ok = {**leaking, "type": "pns.not_reregistered.v1", "data": {}}
    schema("pns.not_reregistered.v1").validate(ok)
    schema("pns.reinstated.v1").validate({**ok, "type": "pns.reinstated.v1", "data": {"reason": "SK pembatalan"}})
