"""Forms use cases on the real SecantusDB: rules, nothing stored on rejection, rebuild equality."""
from datetime import UTC, datetime, timedelta

import pytest

from forms import application
from forms.projections import Projector, ensure_read_models
from pupns.errors import AppError
from pupns.nip import make_nik
from pupns.replay import rebuild
from tests.factories import BORN, NIP, roster_row, upstream_message

ROW = roster_row()



def forms_store_with_open_campaign(store_for):
    """forms' store, its read models, and a campaign open since yesterday for thirty days."""
    store = store_for("forms")
    ensure_read_models(store.db)
    now = datetime.now(UTC)
    application.observe_campaign(store, upstream_message("CampaignScheduled", {
        "opens_at": (now - timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=30)).isoformat()}),
        "k-campaign")
    return store


@pytest.fixture
def store(store_for):
    store = forms_store_with_open_campaign(store_for)
    application.open_form(store, upstream_message("RegistrationConfirmed", {
        "registration_number": "PUPNS-2025-ABCD1234", "nama": "Budi", "instansi_kode": "A1", "roster": ROW},
        nip=NIP), "k-open")
    return store


def rejected(call, code):
    with pytest.raises(AppError) as err:
        call()
    assert err.value.code == code
    return err.value


def test_opened_form_is_prefilled_and_versioned(store):
    form = application.get_form(store, NIP)
    assert form["version"] == 1 and form["status"] == "draft" and form["notes"] == {}
    assert form["sections"]["data_utama"]["nik"] == ROW["nik"] and form["sections"]["riwayat_pendidikan"] == []
    assert "data_guru" not in form["applicable_sections"] and form["anomalies"] == []


def test_rejected_saves_store_nothing(store):
    before = store.count()
    err = rejected(lambda: application.save_section(store, NIP, "riwayat_golongan", [
        {"golongan": "32", "tmt": "2014-04-01"}, {"golongan": "31", "tmt": "2013-01-01"}], 1), "validation_error")
    assert set(err.fields) == {"riwayat_golongan.1.tmt", "riwayat_golongan.1.golongan"}
    assert rejected(lambda: application.save_section(store, NIP, "riwayat_diklat", [], 0),
                    "version_conflict").extra == {"version": 1}
    rejected(lambda: application.save_section(store, NIP, "data_guru", {"sertifikasi": True, "sekolah": "SD"}, 1),
             "section_not_applicable")
    rejected(lambda: application.save_section(store, NIP, "data_hobi", {}, 1), "unknown_section")
    rejected(lambda: application.save_section(store, "199001012015011001", "riwayat_diklat", [], 1), "not_found")
    rejected(lambda: application.get_profile_data(store, NIP), "not_submitted")
    assert store.count() == before


def test_submit_needs_required_sections_then_locks(store):
    incomplete = rejected(lambda: application.submit_form(store, NIP), "incomplete")
    assert incomplete.fields == {"riwayat_pendidikan": ["wajib diisi"]}
    saved = application.save_section(store, NIP, "riwayat_pendidikan", [
        {"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}], 1)
    assert saved == {"version": 2}
    result = application.submit_form(store, NIP)
    assert result["status"] == "submitted"
    rejected(lambda: application.save_section(store, NIP, "riwayat_diklat", [], 3), "form_locked")
    rejected(lambda: application.submit_form(store, NIP), "form_locked")
    profile = application.get_profile_data(store, NIP)
    assert profile["sections"]["riwayat_pendidikan"][0]["nama_sekolah"] == "ITB"
    submitted = store.read_stream(f"form-{NIP}")[-1]
    assert submitted["type"] == "FormSubmitted" and submitted["data"]["nama"] == "Budi"


def test_closed_campaign_refuses_saves(store):
    past = datetime.now(UTC) - timedelta(days=10)
    application.observe_campaign(store, upstream_message("CampaignScheduled", {
        "opens_at": (past - timedelta(days=5)).isoformat(), "closes_at": past.isoformat()}, version=2), "k2")
    rejected(lambda: application.save_section(store, NIP, "riwayat_diklat", [], 1), "campaign_closed")
    rejected(lambda: application.submit_form(store, NIP), "campaign_closed")


def test_saving_a_disagreeing_nik_raises_an_anomaly_and_rebuild_gives_the_same_read_model(store):
    utama = {**application.get_form(store, NIP)["sections"]["data_utama"], "nik": make_nik("320101", BORN, "P", 1)}
    application.save_section(store, NIP, "data_utama", utama, 1)
    assert [a["code"] for a in application.get_form(store, NIP)["anomalies"]] == ["nik_nip_mismatch"]
    before = {name: list(store.db[name].find().sort("_id")) for name in Projector.collections}
    rebuild(store, Projector(store.db))
    assert {name: list(store.db[name].find().sort("_id")) for name in Projector.collections} == before
