"""Admin actions across identity, forms and verification on real RabbitMQ and SecantusDB:
progress, closing the campaign (not_reregistered), reinstatement and reopening a verified record."""
from __future__ import annotations

import json
import pathlib
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import event_dispatcher

from forms.service import FormsService
from identity.service import IdentityService
from pupns.errors import AppError
from pupns.nip import make_nik, make_nip
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy
from verification.service import VerificationService

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
PASSWORD = "rahasia-negara-1"
SEED = 11  # instansi 3204, K024, K024, 3273, 3204, 3273


class Platform:
    """RPC proxies to the three services plus their event stores."""

    def __init__(self, identity, forms, verification, store_for):
        self.identity, self.forms, self.verification = identity, forms, verification
        self.stores = {name: store_for(name) for name in ("identity", "forms", "verification")}

    def verifier(self, row: dict) -> dict:
        return {"id": f"v-{row['instansi_kode'].lower()}", "role": "verifier", "instansi_kode": row["instansi_kode"]}

    def register(self, row: dict) -> None:
        self.identity.register({"nip": row["nip"], "nik": row["nik"], "email": "pns@example.go.id",
                                "password": PASSWORD})
        wait_until(lambda: self.stores["verification"].stream_version(f"registration-{row['nip']}"),
                   message="registration queued")

    def confirm(self, row: dict) -> dict:
        self.register(row)
        self.verification.confirm_registration(row["nip"], self.verifier(row))
        return wait_until(lambda: self.forms.get_form(row["nip"]), message="form opened")

    def submit(self, row: dict) -> None:
        self.confirm(row)
        self.forms.submit_form(row["nip"])
        wait_until(lambda: self.status(row) == "submitted", message="identity sees the submission")
        wait_until(lambda: self.stores["verification"].db["submissions"].find_one(
            {"_id": row["nip"], "status": "submitted"}), message="submission queued")

    def status(self, row: dict) -> str:
        return self.identity.get_me(row["nip"])["status"]

    def close(self) -> dict:
        """Close the campaign (a job) and wait for its result."""
        job = self.identity.close_campaign(ADMIN)
        return wait_until(lambda: (body := self.identity.get_job(job["id"], ADMIN))["status"] == "done"
                          and body["result"], message="close job done")

    def events(self, service: str, kind: str) -> list[dict]:
        return list(self.stores[service].events.find({"type": kind}).sort("position", 1))


@pytest.fixture
def rows():
    return list(generate_rows(6, seed=SEED))


@pytest.fixture
def platform(runner_factory, rabbit_config, db_prefix, store_for, rows):
    runner_factory(rabbit_config, IdentityService, FormsService, VerificationService).start()
    with signed_proxy("identity", rabbit_config, timeout=60) as identity, \
            signed_proxy("forms", rabbit_config, timeout=60) as forms, \
            signed_proxy("verification", rabbit_config, timeout=60) as verification:
        world = Platform(identity, forms, verification, store_for)
        identity.import_roster(roster_csv(6, seed=SEED), ADMIN)
        now = datetime.now(UTC)
        identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)
        wait_until(lambda: world.stores["forms"].db["campaign"].find_one(), message="forms observed the campaign")
        yield world


@pytest.fixture
def public_queue(rabbit_config):
    """A subscriber's queue on pupns.public, bound before anything is published."""
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = Queue(f"test-admin-{uuid.uuid4().hex[:8]}", Exchange("pupns.public", type="topic", durable=True),
                      routing_key="pns.#")
        bound = queue(connection.default_channel)
        bound.declare()
        received: list[dict] = []

        def drain(routing_key: str) -> list[dict]:
            while (message := bound.get(no_ack=True)) is not None:
                received.append({"routing_key": message.delivery_info["routing_key"], "body": message.payload})
            return [m["body"] for m in received if m["routing_key"] == routing_key]

        yield drain


def error_of(call, *args) -> AppError:
    with pytest.raises(AppError) as info:
        call(*args)
    return info.value


def schema(routing_key: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{routing_key}.json").read_text()),
                                format_checker=FormatChecker())


def bring_to_states(platform: Platform, rows: list[dict]) -> None:
    """rows 0 verified, 1 returned, 2 draft, 3 pending, 4 rejected, 5 never registered."""
    platform.submit(rows[0])
    platform.verification.approve_submission(rows[0]["nip"], platform.verifier(rows[0]))
    platform.submit(rows[1])
    platform.verification.return_submission(rows[1]["nip"], {"riwayat_diklat": "Lengkapi diklat."},
                                            platform.verifier(rows[1]))
    platform.confirm(rows[2])
    platform.register(rows[3])
    platform.register(rows[4])
    platform.verification.reject_registration(rows[4]["nip"], "Berkas tidak jelas", platform.verifier(rows[4]))
    for row, status in zip(rows[:5], ("verified", "returned", "draft", "pending_confirmation", "rejected"),
                           strict=True):
        wait_until(lambda row=row, status=status: platform.status(row) == status, message=f"{row['nip']} {status}")


def test_progress_counts_per_instansi_and_is_admin_only(platform, rows):
    bring_to_states(platform, rows)
    stranger = make_nip(date(1980, 1, 1), date(2005, 1, 1), "L")
    for nik_region in ("327399", "947101"):  # 3273 is an instansi of the roster; 9471 is not
        error = error_of(platform.identity.register, {"nip": stranger if nik_region == "327399" else
                                                      make_nip(date(1981, 1, 1), date(2005, 1, 1), "L"),
                                                      "nik": make_nik(nik_region, date(1980, 1, 1), "L", 7),
                                                      "email": "x@example.id", "password": PASSWORD})
        assert error.code == "nip_not_in_roster"
    assert error_of(platform.identity.progress, platform.verifier(rows[0])).code == "forbidden"

    body = platform.identity.progress(ADMIN)
    by = {r["instansi_kode"]: r for r in body["by_instansi"]}
    assert set(by) == {"3204", "K024", "3273", "unknown"}
    expected_roster = Counter(r["instansi_kode"] for r in rows)
    assert {k: by[k]["roster"] for k in expected_roster} == dict(expected_roster)
    # 3204: rows 0 (verified) and 4 (rejected); K024: rows 1 (returned) and 2 (draft); 3273: rows 3 (pending), 5
    assert {k: (by[k]["registered"], by[k]["confirmed"], by[k]["submitted"], by[k]["verified"], by[k]["returned"])
            for k in ("3204", "K024", "3273")} == {"3204": (1, 1, 0, 1, 0), "K024": (2, 2, 0, 0, 1),
                                                   "3273": (1, 0, 0, 0, 0)}
    assert (by["3273"]["selundupan"], by["unknown"]["selundupan"], by["unknown"]["anomalies"]) == (1, 1, 1)
    flagged = platform.stores["identity"].db["roster"].count_documents({"anomalies.0": {"$exists": True}})
    assert body["totals"]["anomalies"] == flagged + 2
    assert body["totals"]["roster"] == 6 and body["totals"]["not_reregistered"] == 0


def test_close_marks_exactly_the_pns_without_submission_once(platform, rows, public_queue):
    bring_to_states(platform, rows)
    identity_store = platform.stores["identity"]
    assert error_of(platform.identity.close_campaign, platform.verifier(rows[0])).code == "forbidden"
    assert platform.events("identity", "MarkedNotReregistered") == []

    answer = platform.close()
    assert answer == {"not_reregistered": 4}
    marked = {e["nip"] for e in platform.events("identity", "MarkedNotReregistered")}
    assert marked == {rows[i]["nip"] for i in (2, 3, 4, 5)}  # returned (row 1) had submitted: not marked
    assert all(e["meta"]["actor"] == "admin" and e["meta"]["role"] == "admin"
               for e in platform.events("identity", "MarkedNotReregistered"))
    assert platform.identity.get_campaign()["is_open"] is False
    assert platform.close() == answer  # closing twice does not double-count
    assert len(platform.events("identity", "MarkedNotReregistered")) == 4
    assert len(platform.events("identity", "CampaignClosed")) == 2  # both admin actions are audited

    published = wait_until(lambda: len(public_queue("pns.not_reregistered.v1")) >= 4 and
                           public_queue("pns.not_reregistered.v1"), message="public events")
    assert {p["nip"] for p in published} == marked
    for payload in published:
        schema("pns.not_reregistered.v1").validate(payload)

    me = platform.identity.get_me(rows[2]["nip"])
    assert me["status"] == "not_reregistered" and me["timeline"][-1]["type"] == "not_reregistered"
    assert platform.identity.issue_token(rows[2]["nip"], PASSWORD)["role"] == "pns"  # may still see the status
    assert platform.status(rows[0]) == "verified" and platform.status(rows[1]) == "returned"
    assert platform.identity.progress(ADMIN)["totals"]["not_reregistered"] == 4

    wait_until(lambda: error_of(platform.forms.submit_form, rows[2]["nip"]).code == "campaign_closed",
               message="forms observed the close")
    before = {name: store.count() for name, store in platform.stores.items()}
    assert error_of(platform.forms.save_section, rows[2]["nip"], "riwayat_diklat", [], 1).code == "campaign_closed"
    assert error_of(platform.identity.register, {"nip": rows[5]["nip"], "nik": rows[5]["nik"],
                                                 "email": "pns@example.go.id", "password": PASSWORD}
                    ).code == "campaign_closed"
    assert {name: store.count() for name, store in platform.stores.items()} == before

    # reinstatement: admin only, reason required, only a sanctioned PNS
    before = identity_store.count()
    assert error_of(platform.identity.reinstate, rows[2]["nip"], "SK", platform.verifier(rows[2])).code == "forbidden"
    bad = error_of(platform.identity.reinstate, rows[2]["nip"], "   ", ADMIN)
    assert bad.code == "validation_error" and "reason" in bad.fields
    assert error_of(platform.identity.reinstate, rows[2]["nip"], None, ADMIN).code == "validation_error"
    assert error_of(platform.identity.reinstate, rows[1]["nip"], "SK", ADMIN).code == "invalid_state"
    assert error_of(platform.identity.reinstate, "199001012015011009", "SK", ADMIN).code == "not_found"
    assert identity_store.count() == before
    assert platform.identity.reinstate(rows[2]["nip"], "Sakit, surat dokter terlampir", ADMIN) == {
        "nip": rows[2]["nip"], "status": "draft"}
    assert platform.status(rows[2]) == "draft"
    assert platform.identity.reinstate(rows[5]["nip"], "Cuti di luar tanggungan negara", ADMIN)["status"] is None
    reinstated = wait_until(lambda: len(public_queue("pns.reinstated.v1")) >= 2 and
                            public_queue("pns.reinstated.v1"), message="reinstated events")
    assert {p["nip"]: p["data"] for p in reinstated}[rows[2]["nip"]] == {"reason": "Sakit, surat dokter terlampir"}
    for payload in reinstated:
        schema("pns.reinstated.v1").validate(payload)
    assert platform.close()["not_reregistered"] == 2  # reinstated stay reinstated


def test_a_submission_made_before_the_close_but_seen_after_it_lifts_the_sanction(platform, rows, rabbit_config):
    platform.confirm(rows[2])
    before_close = datetime.now(UTC).isoformat()
    platform.close()
    assert platform.status(rows[2]) == "not_reregistered"
    late = {"event_id": uuid.uuid4().hex, "stream": f"form-{rows[2]['nip']}", "version": 2, "type": "FormSubmitted",
            "occurred_at": before_close, "nip": rows[2]["nip"], "instansi_kode": rows[2]["instansi_kode"],
            "data": {"sections": {}, "submitted_at": before_close, "anomalies": [], "nama": rows[2]["nama"],
                     "instansi_kode": rows[2]["instansi_kode"]}, "meta": {"actor": rows[2]["nip"], "role": "pns"}}
    event_dispatcher(rabbit_config)("forms", "FormSubmitted", late)
    wait_until(lambda: platform.status(rows[2]) == "submitted", message="sanction lifted")
    [lifted] = platform.events("identity", "Reinstated")
    assert lifted["data"]["automatic"] is True and lifted["meta"]["role"] == "system"


def test_reopen_a_verified_record_then_edit_and_resubmit(platform, rows):
    platform.submit(rows[0])
    platform.submit(rows[1])
    nip = rows[0]["nip"]
    platform.verification.approve_submission(nip, platform.verifier(rows[0]))
    wait_until(lambda: platform.forms.get_form(nip)["status"] == "verified", message="form verified")
    forms_store = platform.stores["forms"]
    before = forms_store.count()
    assert error_of(platform.forms.reopen_record, nip, "Salah golongan", platform.verifier(rows[0])).code == "forbidden"
    for bad_reason in ("", "  ", None, 12):
        error = error_of(platform.forms.reopen_record, nip, bad_reason, ADMIN)
        assert error.code == "validation_error" and list(error.fields) == ["reason"]
    assert error_of(platform.forms.reopen_record, rows[1]["nip"], "x", ADMIN).code == "invalid_state"
    assert error_of(platform.forms.reopen_record, "199001012015011009", "x", ADMIN).code == "not_found"
    assert forms_store.count() == before

    answer = platform.forms.reopen_record(nip, "Salah golongan pada SK", ADMIN)
    assert answer["status"] == "draft"
    [reopened] = platform.events("forms", "FormReopened")
    assert reopened["data"] == {"reason": "Salah golongan pada SK"} and reopened["meta"]["actor"] == "admin"
    wait_until(lambda: platform.status(rows[0]) == "draft", message="identity sees draft")
    last = platform.identity.get_me(nip)["timeline"][-1]
    assert (last["type"], last["note"], last["by_role"]) == ("draft", "Salah golongan pada SK", "admin")

    form = platform.forms.get_form(nip)
    assert platform.forms.save_section(nip, "riwayat_diklat", [{"nama": "Latsar CPNS", "jenis": "prajabatan",
                                                                "tahun": 2012, "jam_pelajaran": 40}],
                                       form["version"]) == {"version": form["version"] + 1}
    platform.forms.submit_form(nip)
    wait_until(lambda: platform.stores["verification"].db["submissions"].find_one(
        {"_id": nip, "status": "submitted"}), message="resubmission queued")
    assert platform.verification.approve_submission(nip, platform.verifier(rows[0]))["status"] == "verified"
    wait_until(lambda: platform.status(rows[0]) == "verified", message="verified again")
    kinds = [e["type"] for e in forms_store.read_stream(f"form-{nip}")]
    assert kinds[-4:] == ["FormReopened", "SectionSaved", "FormSubmitted", "FormVerified"]
