"""identity's personal data (issue 13) on real RabbitMQ + SecantusDB: nothing personal in clear in its database,
authorised readers still get the values, and an erasure makes them read as null + `_erased` for good."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.events import event_dispatcher

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands import personal_data, registration
from pupns.auth import decode_token
from pupns.blind_index import blind_index
from pupns.errors import AppError
from pupns.eventstore import NewEvent
from pupns.nip import make_nik
from pupns.personal import FieldCodec, KeyStore
from pupns.personal.provider import default_codec
from pupns.replay import check
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
VERIFIER = {"id": "verif1", "role": "verifier", "instansi_kode": "4011"}
PASSWORD = "rahasia-negara-1"
EMAIL = "siti.rahayu@example.go.id"


def error_of(call, *args) -> AppError:
    with pytest.raises(AppError) as info:
        call(*args)
    return info.value


def publish(rabbit_config, source: str, event_type: str, row: dict, data: dict) -> None:
    event_dispatcher(rabbit_config)(source, event_type, {
        "event_id": f"{event_type}-{row['nip']}", "stream": f"x-{row['nip']}", "version": 1, "type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(), "nip": row["nip"], "instansi_kode": row["instansi_kode"],
        "data": data, "meta": {"actor": "verif1", "role": "verifier"}})


def spellings(value: str) -> set[str]:
    """A value and the usual ways a leak would spell it (base64, base64url, hex)."""
    raw = value.encode()
    return {value, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()}


def dump(store) -> str:
    """Every document of every collection of identity's database, as one text."""
    return json.dumps({name: list(store.db[name].find()) for name in store.db.list_collection_names()},
                      default=str, ensure_ascii=False)


@pytest.fixture
def flow(identity, rabbit_config, store_for):
    """A roster of three, one PNS registered, confirmed and verified with a corrected NIK, and a verifier."""
    rows = list(generate_rows(3, seed=131))
    identity.import_roster(roster_csv(3, seed=131), ADMIN)
    now = datetime.now(UTC)
    identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                           "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)
    row = rows[0]
    number = identity.register({"nip": row["nip"], "nik": row["nik"], "email": EMAIL,
                                "password": PASSWORD})["registration_number"]
    publish(rabbit_config, "verification", "RegistrationConfirmed", row, {"registration_number": number,
                                                                          "roster": row})
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "draft", message="activated")
    # The verified NIK arrives sealed, as forms and verification send it: identity opens it and seals it again.
    new_nik = make_nik(row["nik"][:6], datetime.strptime(row["tanggal_lahir"], "%Y-%m-%d").date(),
                       row["jenis_kelamin"], 77)
    sections = {"data_utama": {"nik": default_codec().seal(row["nip"], new_nik), "nama": row["nama"]}}
    publish(rabbit_config, "verification", "SubmissionApproved", row, {"sections": sections})
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "verified", message="verified")
    identity.create_verifier({"username": "verif1", "password": PASSWORD, "instansi_kode": "4011"}, ADMIN)
    return {"rows": rows, "row": row, "number": number, "new_nik": new_nik, "store": store_for("identity")}


def test_identity_stores_nothing_personal_in_clear_and_readers_still_get_it(identity, flow):
    row, store = flow["row"], flow["store"]
    text = dump(store)
    personal = [r["nik"] for r in flow["rows"]] + [flow["new_nik"], EMAIL, PASSWORD]
    secrets = [spelled for value in personal for spelled in spellings(value)] + ["$argon2id$", "scrypt$"]
    assert {"events", "roster", "accounts", "staff"} <= set(store.db.list_collection_names())
    assert [s for s in secrets if s in text] == []
    assert "enc:v1:" in text
    entry = store.db["roster"].find_one({"_id": row["nip"]})
    assert entry["nik_bi"] == blind_index("nik", flow["new_nik"]) and "nik" not in entry
    # Authorised readers: the PNS's export and receipt, logins of the PNS and the verifier.
    export = identity.export_of(row["nip"])
    assert export["roster"]["nik"] == flow["new_nik"] and export["roster"]["nama"] == row["nama"]
    assert export["account"] == {"email": EMAIL, "status": "verified", "registration_number": flow["number"],
                                 "registered_at": export["account"]["registered_at"],
                                 "confirmed_at": export["account"]["confirmed_at"]}
    assert export["account"]["registered_at"] and export["account"]["confirmed_at"]
    assert [t["type"] for t in export["timeline"]][:2] == ["registered", "confirmed"] and "_erased" not in export
    assert "password_hash" not in json.dumps(export)
    assert identity.get_registration(flow["number"])["email"] == EMAIL
    assert decode_token(identity.issue_token(row["nip"], PASSWORD)["access_token"])["sub"] == row["nip"]
    assert decode_token(identity.issue_token("verif1", PASSWORD)["access_token"])["role"] == "verifier"
    # Lookups by blind index: the old NIK no longer matches the corrected roster, the others' still do.
    assert identity.register({"nip": flow["rows"][1]["nip"], "nik": flow["rows"][1]["nik"], "email": "x@y.go.id",
                              "password": PASSWORD})["status"] == "pending_confirmation"
    assert error_of(identity.register, {"nip": flow["rows"][2]["nip"], "nik": flow["rows"][1]["nik"],
                                        "email": "x@y.go.id", "password": PASSWORD}).code == "nik_mismatch"
    assert identity.import_roster(roster_csv(3, seed=131), ADMIN)["unchanged"] == 3  # keyed row digests


def test_an_erased_record_reads_as_null_everywhere_and_replays_equal(identity, flow):
    row, store = flow["row"], flow["store"]
    assert error_of(identity.erase_record, row["nip"], "permintaan PNS", VERIFIER).code == "forbidden"
    assert error_of(identity.erase_record, "199912312020121001", "salah", ADMIN).code == "not_found"
    assert error_of(identity.erase_record, row["nip"], " ", ADMIN).code == "validation_error"
    erased = identity.erase_record(row["nip"], "permintaan PNS (SPEC §7)", ADMIN)
    assert erased["nip"] == row["nip"] and erased["erased"] is True and erased["erased_at"]
    assert identity.erase_record(row["nip"], "diulang", ADMIN) == erased  # harmless: same answer, nothing new
    [event] = store.read_stream(f"erasure-{row['nip']}")
    assert (event["type"], event["data"], event["meta"]["actor"]) == (
        "RecordErased", {"reason": "permintaan PNS (SPEC §7)"}, "admin")
    export = identity.export_of(row["nip"])
    assert export["_erased"] is True and export["roster"]["_erased"] is True and export["account"]["_erased"]
    assert (export["roster"]["nik"], export["roster"]["nama"]) == (None, row["nama"])
    assert (export["account"]["email"], export["account"]["status"]) == (None, "verified")
    receipt = identity.get_registration(flow["number"])
    assert (receipt["email"], receipt["_erased"]) == (None, True)
    assert error_of(identity.issue_token, row["nip"], PASSWORD).code == "invalid_credentials"  # its hash is gone
    # Another process, with a cache that never held the key, reads the same.
    keys = KeyStore.from_env()
    try:
        fresh = personal_data.export_of(Deps.of(store, codec=FieldCodec(keys)), row["nip"])
    finally:
        keys.close()
    assert fresh == export
    other = identity.export_of(flow["rows"][1]["nip"])
    assert other["roster"]["nik"] == flow["rows"][1]["nik"] and "_erased" not in other
    report = check(store, Projector)
    assert report["equal"], report["differ"]


def test_a_version_1_roster_event_in_clear_still_projects_by_blind_index(identity, store_for):
    """Logs written before issue 13 hold roster rows in clear (schema_version 1): replay and lookups still work."""
    [row] = generate_rows(1, seed=132)
    store = store_for("identity")
    store.append(f"roster-{row['nip']}", 0, [NewEvent("RosterEntryImported", {"row": row}, 1)], {"actor": "admin"},
                 nip=row["nip"], instansi_kode=row["instansi_kode"], projection=Projector(store.db).apply)
    entry = store.db["roster"].find_one({"_id": row["nip"]})
    assert entry["nik_bi"] == blind_index("nik", row["nik"])
    now = datetime.now(UTC)
    identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                           "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)
    deps = Deps.of(store)
    assert registration.register(deps, {"nip": row["nip"], "nik": row["nik"], "email": EMAIL,
                                        "password": PASSWORD})["status"] == "pending_confirmation"
    assert identity.export_of(row["nip"])["roster"]["nik"] == row["nik"]
    assert check(store, Projector)["equal"]


def test_a_staged_roster_upload_is_sealed_under_its_own_subject(identity, store_for):
    text = roster_csv(2, seed=133)
    niks = [r["nik"] for r in generate_rows(2, seed=133)]
    identity.stage_roster_chunks("upload-personal-1", [{"n": 0, "text": text, "lines": [[2, 2], [3, 3]],
                                                        "rows": 2}], ADMIN)
    [staged] = store_for("identity").db["job_inputs"].find()
    assert staged["text"].startswith("enc:v1:") and not any(nik in json.dumps(staged, default=str) for nik in niks)
    assert default_codec().open_("upload:upload-personal-1", staged["text"]) == text
