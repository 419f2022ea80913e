"""identity on real infra: roster import, staff accounts, campaign, status events, replay."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.events import event_dispatcher

from identity.adapters.projections import Projector
from pupns.auth import decode_token
from pupns.errors import AppError
from pupns.replay import rebuild
from pupns.roster_upload import follow_job, upload_roster
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
VERIFIER = {"id": "v1", "role": "verifier", "instansi_kode": "3273"}
PASSWORD = "rahasia-negara-1"


def error_of(call, *args, **kwargs) -> AppError:
    with pytest.raises(AppError) as info:
        call(*args, **kwargs)
    return info.value


def broken_roster() -> str:
    lines = roster_csv(6, seed=5).splitlines()
    bad_sex = lines[3].split(",")
    bad_sex[7] = "P" if bad_sex[7] == "L" else "L"
    bad_golongan = lines[5].split(",")
    bad_golongan[12] = "99"
    lines[3], lines[5] = ",".join(bad_sex), ",".join(bad_golongan)
    lines.insert(2, "123,,,,,,,,,,,,,,,,,,,")
    return "\n".join(lines) + "\n"


def test_import_reports_bad_rows_and_reimport_changes_nothing(identity, store_for):
    result = identity.import_roster(broken_roster(), ADMIN)
    assert result["imported"] == 4 and result["unchanged"] == 0
    assert [(r["line"], r["column"]) for r in result["rejected"]] == [(3, "nik"), (5, "jenis_kelamin"),
                                                                      (7, "golongan")]
    count = store_for("identity").count()
    again = identity.import_roster(broken_roster(), ADMIN)
    assert (again["imported"], again["unchanged"], len(again["rejected"])) == (0, 4, 3)
    assert store_for("identity").count() == count


def test_changed_row_is_imported_again_and_header_problems_reject_the_file(identity, store_for):
    text = roster_csv(3, seed=9)
    identity.import_roster(text, ADMIN)
    changed = text.replace("Pemerintah Kota", "Pemkot")
    result = identity.import_roster(changed, ADMIN)
    assert result["imported"] + result["unchanged"] == 3 and result["imported"] >= 1
    bad_header = identity.import_roster("nip,nama,warna\n1,2,3\n", ADMIN)
    assert bad_header["imported"] == 0 and bad_header["rejected"][0]["line"] == 1


def test_import_is_admin_only(identity, store_for):
    assert error_of(identity.import_roster, roster_csv(2, seed=1), VERIFIER).code == "forbidden"
    assert store_for("identity").count() == 0


def test_anomalies_are_stored_on_the_read_model(identity, store_for):
    rows = list(generate_rows(3, seed=21))
    rows[1]["nik"] = rows[0]["nik"]  # same NIK on two NIPs (and it disagrees with the second NIP)
    header = ",".join(rows[0])
    text = header + "\n" + "\n".join(",".join(str(v) for v in r.values()) for r in rows) + "\n"
    identity.import_roster(text, ADMIN)
    roster = store_for("identity").db["roster"]
    codes = {doc["_id"]: {a["code"] for a in doc["anomalies"]} for doc in roster.find()}
    assert "nik_duplicate" in codes[rows[0]["nip"]] and "nik_duplicate" in codes[rows[1]["nip"]]
    assert "nik_duplicate" not in codes[rows[2]["nip"]]


def test_an_upload_in_small_chunks_becomes_a_job_that_keeps_original_line_numbers(identity):
    job = upload_roster(broken_roster(), lambda method, *args, **kwargs: getattr(identity, method)(
        *args, ADMIN, **kwargs), "same-key", rows_per_chunk=2)
    assert job["status"] in ("queued", "running") and job["progress"]["total"] == 7
    done = follow_job(lambda job_id: identity.get_job(job_id, ADMIN), job["id"], interval=0.1, timeout=30)
    assert done["status"] == "done" and done["progress"] == {"done": 7, "total": 7}
    assert done["result"]["imported"] == 4
    assert [(r["line"], r["column"]) for r in done["result"]["rejected"]] == [(3, "nik"), (5, "jenis_kelamin"),
                                                                              (7, "golongan")]
    assert error_of(identity.get_job, job["id"], VERIFIER).code == "forbidden"
    assert error_of(identity.get_job, "identity-0", ADMIN).code == "not_found"


def test_staff_accounts_and_campaign(identity, store_for):
    assert identity.bootstrap_admin(PASSWORD) == {"created": True}
    assert identity.bootstrap_admin(PASSWORD) == {"created": False}
    assert decode_token(identity.issue_token("admin", PASSWORD)["access_token"])["role"] == "admin"
    verifier = {"username": "verif.bandung", "password": PASSWORD, "instansi_kode": "3273"}
    assert error_of(identity.create_verifier, verifier, VERIFIER).code == "forbidden"
    assert error_of(identity.create_verifier, {**verifier, "password": "123"}, ADMIN).code == "validation_error"
    identity.create_verifier(verifier, ADMIN)
    assert error_of(identity.create_verifier, verifier, ADMIN).code == "conflict"
    claims = decode_token(identity.issue_token("verif.bandung", PASSWORD)["access_token"])
    assert (claims["role"], claims["instansi_kode"]) == ("verifier", "3273")
    [created] = store_for("identity").read_stream("staff-verif.bandung")
    assert created["meta"]["actor"] == "admin" and created["meta"]["role"] == "admin"
    now = datetime.now(UTC)
    window = {"opens_at": now.isoformat(), "closes_at": (now - timedelta(hours=1)).isoformat()}
    assert error_of(identity.set_campaign, window, ADMIN).code == "validation_error"
    assert error_of(identity.set_campaign, {"opens_at": "2025-01-01T00:00:00", "closes_at": "x"},
                    ADMIN).fields.keys() == {"opens_at", "closes_at"}
    window["closes_at"] = (now + timedelta(days=3)).isoformat()
    assert error_of(identity.set_campaign, window, VERIFIER).code == "forbidden"
    assert identity.set_campaign(window, ADMIN)["is_open"] is True


def publish(rabbit_config, source: str, event_type: str, row: dict, data: dict, n: int = 1) -> None:
    event_dispatcher(rabbit_config)(source, event_type, {
        "event_id": f"{event_type}-{row['nip']}-{n}", "stream": f"x-{row['nip']}", "version": n,
        "type": event_type, "occurred_at": datetime.now(UTC).isoformat(), "nip": row["nip"],
        "instansi_kode": row["instansi_kode"], "data": data, "meta": {"actor": "v1", "role": "verifier"}})


def test_form_lifecycle_events_update_status_and_roster_then_replay_is_equal(identity, rabbit_config, store_for):
    [row] = generate_rows(1, seed=33)
    identity.import_roster(roster_csv(1, seed=33), ADMIN)
    now = datetime.now(UTC)
    identity.set_campaign({"opens_at": now.isoformat(), "closes_at": (now + timedelta(days=1)).isoformat()}, ADMIN)
    number = identity.register({"nip": row["nip"], "nik": row["nik"], "email": "a@b.go.id",
                                "password": PASSWORD})["registration_number"]
    publish(rabbit_config, "verification", "RegistrationConfirmed", row, {"registration_number": number,
                                                                          "roster": row})
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "draft", message="activated")
    submitted = {"sections": {}, "submitted_at": datetime.now(UTC).isoformat()}
    publish(rabbit_config, "forms", "FormSubmitted", row, submitted)
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "submitted", message="submitted")
    publish(rabbit_config, "verification", "SubmissionReturned", row, {"notes": {"data_utama": "foto buram"}})
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "returned", message="returned")
    publish(rabbit_config, "forms", "FormSubmitted", row, submitted, n=2)
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "submitted", message="resubmitted")
    sections = {"data_utama": {"nama": "Nama Terverifikasi"}, "data_posisi": {"jabatan": "Guru Ahli Muda"}}
    publish(rabbit_config, "verification", "SubmissionApproved", row, {"sections": sections})
    wait_until(lambda: identity.get_me(row["nip"])["status"] == "verified", message="verified")
    store = store_for("identity")
    entry = store.db["roster"].find_one({"_id": row["nip"]})
    assert entry["row"]["nama"] == "Nama Terverifikasi" and entry["imported"]["nama"] == row["nama"]
    assert identity.import_roster(roster_csv(1, seed=33), ADMIN)["unchanged"] == 1  # corrections survive
    timeline = identity.get_me(row["nip"])["timeline"]
    assert [t["type"] for t in timeline][-3:] == ["returned", "submitted", "verified"]
    assert "foto buram" in timeline[-3]["note"]

    def snapshot() -> dict:
        return {name: sorted(store.db[name].find(), key=lambda d: str(d["_id"])) for name in Projector.collections}

    # Replay is for a quiet service: let the background job (the 1-day reminder is due already) start and end
    # first. Waiting only for "none queued or running" passed before the deadline check had submitted it, and the
    # job then appeared between the snapshot and the rebuild.
    jobs_docs = store.db["jobs"]
    wait_until(lambda: jobs_docs.count_documents({}) >= 1
               and jobs_docs.count_documents({"status": {"$in": ["queued", "running"]}}) == 0,
               message="the reminder job submitted and finished")
    before = snapshot()
    rebuild(store, Projector(store.db))
    assert snapshot() == before
