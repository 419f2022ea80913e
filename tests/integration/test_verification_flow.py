"""The whole review loop across forms and verification on real RabbitMQ and SecantusDB."""
import json
import pathlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import event_dispatcher

from forms.adapters.projections import Projector as FormsProjector
from forms.service import FormsService
from pupns.errors import AppError
from pupns.replay import rebuild
from pupns_dev.waiting import wait_until
from tests.factories import NIP, roster_row, upstream_message
from tests.rpc import signed_proxy
from verification.adapters.projections import Projector as VerificationProjector
from verification.service import VerificationService

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"
ROW = roster_row()
VERIFIER = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}
OTHER = {"id": "verif-b2", "role": "verifier", "instansi_kode": "B2"}
PNS = {"id": NIP, "role": "pns", "instansi_kode": "A1"}



def rejected(call, code):
    with pytest.raises(AppError) as err:
        call()
    assert err.value.code == code
    return err.value


def types(store, stream):
    return [e["type"] for e in store.read_stream(stream)]


@pytest.fixture
def public_queue(rabbit_config):
    """A subscriber's own queue on pupns.public, bound before anything is published."""
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = Queue(f"test-subscriber-{uuid.uuid4().hex[:8]}", Exchange("pupns.public", type="topic",
                                                                         durable=True), routing_key="pns.#")
        bound = queue(connection.default_channel)
        bound.declare()
        received: list[dict] = []

        def drain(routing_key):
            while (message := bound.get(no_ack=True)) is not None:
                received.append({"routing_key": message.delivery_info["routing_key"], "body": message.payload})
            return [m["body"] for m in received if m["routing_key"] == routing_key]

        yield drain


def test_registration_to_verified_form(runner_factory, rabbit_config, store_for, public_queue):
    runner_factory(rabbit_config, FormsService, VerificationService).start()
    forms_store, verification_store = store_for("forms"), store_for("verification")
    dispatch = event_dispatcher(rabbit_config)
    now = datetime.now(UTC)
    dispatch("identity", "CampaignScheduled", upstream_message("CampaignScheduled", {
        "opens_at": (now - timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=30)).isoformat()}))
    wait_until(lambda: forms_store.db["campaign"].find_one(), message="campaign observed")

    registered = upstream_message("RegistrationSubmitted", {
        "registration_number": "PUPNS-2025-ABCD1234", "nip": NIP, "email": "budi@example.id", "nama": "Budi",
        "instansi_kode": "A1", "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo", "roster": ROW,
        "registered_at": now.isoformat()}, nip=NIP)
    dispatch("identity", "RegistrationSubmitted", registered)
    dispatch("identity", "RegistrationSubmitted", registered)  # redelivered duplicate
    with signed_proxy("verification", rabbit_config) as verification, \
            signed_proxy("forms", rabbit_config) as forms:
        listed = wait_until(lambda: verification.list_registrations(VERIFIER)["items"], message="registration queued")
        assert listed == [{"nip": NIP, "nama": "Budi", "registration_number": "PUPNS-2025-ABCD1234",
                           "registered_at": now.isoformat()}]
        assert verification.list_registrations(OTHER)["items"] == []
        rejected(lambda: verification.list_registrations(PNS), "forbidden")
        rejected(lambda: verification.confirm_registration(NIP, OTHER), "forbidden")
        rejected(lambda: verification.reject_registration(NIP, "  ", VERIFIER), "validation_error")
        assert verification.confirm_registration(NIP, VERIFIER) == {"nip": NIP, "status": "confirmed"}
        rejected(lambda: verification.confirm_registration(NIP, VERIFIER), "invalid_state")
        assert types(verification_store, f"registration-{NIP}") == ["RegistrationReceived", "RegistrationConfirmed"]

        form = wait_until(lambda: forms.get_form(NIP), message="form opened")
        assert form["version"] == 1 and form["sections"]["data_utama"]["nama"] == "Budi"
        utama = {**form["sections"]["data_utama"], "nama": "Budi Santoso", "npwp": "01.234.567.8-901.000"}
        assert forms.save_section(NIP, "data_utama", utama, 1) == {"version": 2}
        events_before = forms_store.count()
        bad = rejected(lambda: forms.save_section(NIP, "data_utama", {**utama, "nik": "123"}, 2), "validation_error")
        assert list(bad.fields) == ["data_utama.nik"]
        conflict = rejected(lambda: forms.save_section(NIP, "data_utama", utama, 1), "version_conflict")
        assert int(conflict.extra["version"]) == 2  # nameko stringifies exception args; see report
        rejected(lambda: forms.save_section(NIP, "data_dokter", {"nomor_str": "1"}, 2), "section_not_applicable")
        rejected(lambda: forms.save_section(NIP, "data_rahasia", {}, 2), "unknown_section")
        assert forms_store.count() == events_before

        assert rejected(lambda: forms.submit_form(NIP), "incomplete").fields == {"riwayat_pendidikan": ["wajib diisi"]}
        forms.save_section(NIP, "riwayat_pendidikan", [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008,
                                                        "document_id": "doc-ijazah"}], 2)
        assert forms.submit_form(NIP)["status"] == "submitted"
        rejected(lambda: forms.save_section(NIP, "riwayat_diklat", [], 4), "form_locked")

        items = wait_until(lambda: verification.list_submissions(VERIFIER)["items"], message="submission queued")
        assert [(i["nip"], i["nama"], i["anomaly_count"]) for i in items] == [(NIP, "Budi Santoso", 0)]
        rejected(lambda: verification.get_submission(NIP, OTHER), "forbidden")
        rejected(lambda: verification.approve_submission(NIP, OTHER), "forbidden")
        review = verification.get_submission(NIP, VERIFIER)
        assert review["changes"] == [{"section": "data_utama", "field": "nama", "from": "Budi", "to": "Budi Santoso"}]
        assert review["documents"] == ["doc-ijazah"] and review["roster"]["nik"] == ROW["nik"]
        rejected(lambda: verification.return_submission(NIP, {"hobi": "?"}, VERIFIER), "validation_error")
        notes = {"riwayat_pendidikan": "Lampirkan nomor ijazah."}
        assert verification.return_submission(NIP, notes, VERIFIER) == {"nip": NIP, "status": "returned"}
        returned = wait_until(lambda: forms.get_form(NIP)["status"] == "returned" and forms.get_form(NIP),
                              message="form returned")
        assert returned["notes"] == notes

        pendidikan = [{**returned["sections"]["riwayat_pendidikan"][0], "nomor_ijazah": "IJZ-001"}]
        forms.save_section(NIP, "riwayat_pendidikan", pendidikan, returned["version"])
        forms.submit_form(NIP)
        wait_until(lambda: verification.list_submissions(VERIFIER)["items"], message="resubmission queued")
        assert verification.approve_submission(NIP, VERIFIER) == {"nip": NIP, "status": "verified"}
        rejected(lambda: verification.approve_submission(NIP, VERIFIER), "invalid_state")
        wait_until(lambda: forms.get_form(NIP)["status"] == "verified", message="form verified")
        assert forms.get_profile_data(NIP)["sections"]["riwayat_pendidikan"][0]["nomor_ijazah"] == "IJZ-001"

    verified = wait_until(lambda: public_queue("pns.data_verified.v1"), message="public event received")
    schema = Draft202012Validator(json.loads((SCHEMAS / "pns.data_verified.v1.json").read_text()))
    schema.validate(verified[0])
    assert "nik" not in json.dumps(verified[0]) and "npwp" not in json.dumps(verified[0])
    assert public_queue("pns.registered.v1")[0]["data"] == {"registration_number": "PUPNS-2025-ABCD1234"}
    assert public_queue("pns.returned.v1")[0]["data"] == {"sections": ["riwayat_pendidikan"]}

    assert types(forms_store, f"form-{NIP}") == ["FormOpened", "SectionSaved", "SectionSaved", "FormSubmitted",
                                                 "FormReturned", "SectionSaved", "FormSubmitted", "FormVerified"]
    assert types(verification_store, f"submission-{NIP}") == ["SubmissionReceived", "SubmissionReturned",
                                                              "SubmissionReceived", "SubmissionApproved"]
    for store, projector in ((forms_store, FormsProjector(forms_store.db)),
                             (verification_store, VerificationProjector(verification_store.db))):
        before = {name: list(store.db[name].find().sort("_id")) for name in projector.collections}
        rebuild(store, projector)
        assert {name: list(store.db[name].find().sort("_id")) for name in projector.collections} == before



def test_a_registration_after_a_rejection_is_queued_again_and_a_stale_repeat_is_not(store_for):
    """Registrations are tried on a new stream first (no read); a NIP that has a stream is decided on it."""
    from pupns.contracts.identity import RegistrationSubmitted
    from verification import commands
    from verification.adapters import Deps

    store = store_for("verification")
    deps, now = Deps.of(store), datetime.now(UTC)
    reads = []
    deps.registrations.get = lambda nip, get=deps.registrations.get: reads.append(nip) or get(nip)

    def receive(number: str) -> None:
        message = upstream_message("RegistrationSubmitted", {
            "registration_number": number, "nip": NIP, "email": "budi@example.id", "nama": "Budi",
            "instansi_kode": "A1", "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo", "roster": ROW,
            "registered_at": now.isoformat()}, nip=NIP)
        commands.receive_registration(deps, RegistrationSubmitted.from_message(message),
                                      commands.consumer_meta(message), f"test:{message['event_id']}")

    receive("PUPNS-2025-FIRST001")
    assert reads == []  # a NIP's first registration is appended without reading its stream
    commands.reject_registration(deps, NIP, "NIK tidak jelas", VERIFIER)
    receive("PUPNS-2025-AGAIN002")
    assert store.db["registrations"].find_one({"_id": NIP})["registration_number"] == "PUPNS-2025-AGAIN002"
    commands.confirm_registration(deps, NIP, VERIFIER)
    receive("PUPNS-2025-STALE003")  # a repeat after the confirmation changes nothing
    assert types(store, f"registration-{NIP}") == ["RegistrationReceived", "RegistrationRejected",
                                                   "RegistrationReceived", "RegistrationConfirmed"]
