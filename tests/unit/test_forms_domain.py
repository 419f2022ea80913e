"""The Form aggregate, the roster prefill and the anomalies."""
from datetime import date

import pytest

from forms.domain import Campaign, Form
from forms.domain.anomalies import compute_anomalies
from forms.domain.prefill import sections_from_roster
from pupns.aggregate import DomainError
from pupns.nip import make_nik
from tests.factories import BORN, NIP, roster_row

ROW = roster_row(pendidikan_tingkat="S1", pendidikan_nama="ITB", tahun_lulus="2008")


def opened(row=ROW) -> Form:
    form = Form(NIP)
    form.open("A1", row["jabatan"], row, sections_from_roster(row))
    return form


def test_prefill_maps_roster_and_leaves_unknowns_null():
    sections = sections_from_roster(ROW)
    assert sections["data_utama"]["gelar_depan"] is None and sections["data_utama"]["npwp"] is None
    assert sections["riwayat_pendidikan"] == [{"tingkat": "S1", "nama_sekolah": "ITB", "jurusan": None,
                                               "tahun_lulus": 2008, "nomor_ijazah": None, "document_id": None}]
    assert sections["riwayat_golongan"][0]["nomor_sk"] is None
    assert sections["riwayat_diklat"] == [] and sections["riwayat_penghargaan"] == []
    assert sections_from_roster({**ROW, "pendidikan_tingkat": "", "pendidikan_nama": ""})["riwayat_pendidikan"] == []


def test_role_sections_follow_the_jabatan():
    form = opened()
    assert "data_guru" not in form.applicable_sections() and "data_dokter" not in form.applicable_sections()
    with pytest.raises(DomainError) as err:
        form.check_editable("data_guru", campaign_open=True)
    assert err.value.code == "section_not_applicable"
    teacher = opened({**ROW, "jabatan": "Guru Ahli Muda"})
    assert "data_guru" in teacher.applicable_sections()
    assert "data_guru" not in opened({**ROW, "jabatan": "Pengurus Barang"}).applicable_sections()


def test_submit_locks_and_return_unlocks():
    form = opened()
    form.submit(True, "2025-01-01T00:00:00+00:00", {}, [])
    for attempt in (lambda: form.check_editable("data_utama", True), lambda: form.submit(True, "x", {}, [])):
        with pytest.raises(DomainError) as err:
            attempt()
        assert err.value.code == "form_locked"
    assert form.mark_returned({"data_utama": "Perbaiki nama"}) and form.status == "returned"
    form.check_editable("data_utama", True)
    assert [type(e).__name__ for e in form.pending] == ["FormOpened", "FormSubmitted", "FormReturned"]


def test_submit_reports_missing_sections_and_closed_campaign():
    form = opened({**ROW, "pendidikan_tingkat": "", "pendidikan_nama": ""})
    with pytest.raises(DomainError) as err:
        form.submit(True, "now", {}, [])
    assert err.value.code == "incomplete" and err.value.fields == {"riwayat_pendidikan": ["wajib diisi"]}
    with pytest.raises(DomainError) as err:
        form.submit(False, "now", {}, [])
    assert err.value.code == "campaign_closed"


def test_the_campaign_keeps_the_latest_schedule_and_ignores_one_delivered_late():
    campaign = Campaign()
    assert campaign.observe("2025-09-01T00:00:00+07:00", "2025-12-31T23:59:59+07:00", 2)
    assert not campaign.observe("2025-08-01T00:00:00+07:00", "2025-11-30T23:59:59+07:00", 1)
    assert not campaign.observe("2025-08-01T00:00:00+07:00", "2025-11-30T23:59:59+07:00", 2)
    assert campaign.observe("2025-09-01T00:00:00+07:00", "2026-01-31T23:59:59+07:00", 0)  # unversioned: kept
    assert campaign.closes_at == "2026-01-31T23:59:59+07:00" and len(campaign.pending) == 2
    assert [e.type_name() for e in campaign.pending] == ["CampaignObserved", "CampaignObserved"]


def codes(sections, row=ROW, today=date(2025, 1, 1)):
    return [a["code"] for a in compute_anomalies(NIP, sections, row, today)]


def test_no_anomalies_for_a_consistent_form():
    assert codes(sections_from_roster(ROW)) == []


def test_anomalies_are_flagged_with_indonesian_messages():
    sections = sections_from_roster(ROW)
    sections["data_utama"] = {**sections["data_utama"], "nik": make_nik("320101", BORN, "P", 1),
                              "tanggal_lahir": "1985-03-13"}
    sections["riwayat_golongan"] = [{"golongan": "32", "tmt": "2014-04-01"}, {"golongan": "31", "tmt": "2018-04-01"}]
    found = compute_anomalies(NIP, sections, {**ROW, "tmt_cpns": "2001-01-01"}, date(2025, 1, 1))
    assert [a["code"] for a in found] == ["nik_nip_mismatch", "birth_date_mismatch", "tmt_cpns_under_18",
                                          "rank_history_irregular"]
    assert all(a["message"] and a["section"] for a in found)


def test_retirement_age_depends_on_the_kind_of_position():
    assert "past_retirement_age" in codes(sections_from_roster({**ROW, "jenis_jabatan": "struktural"}),
                                          today=date(2043, 4, 1))
    assert codes(sections_from_roster(ROW), today=date(2043, 4, 1)) == []
    assert "past_retirement_age" in codes(sections_from_roster(ROW), today=date(2045, 4, 1))


def test_prefill_starts_data_utama_with_the_registration_email():
    assert sections_from_roster(ROW, "budi@contoh.go.id")["data_utama"]["email"] == "budi@contoh.go.id"
    assert sections_from_roster(ROW)["data_utama"]["email"] is None


BASE_ATTRIBUTES = {"id", "version", "head_hash", "head_position", "pending", "snapshot_version"}


def stored(form: Form) -> list[dict]:
    """The form's pending events as the store would give them back."""
    return [{"type": e.type_name(), "data": e.to_data(), "version": n} for n, e in enumerate(form.pending, 1)]


def test_a_form_from_its_snapshot_is_the_form_its_events_build():
    form = opened()
    form.save_section("data_posisi", {"jabatan": "Guru Ahli Muda"}, campaign_open=True)
    form.submit(True, "2026-12-01T08:00:00+07:00", {}, [])
    form.mark_returned({"data_utama": "Periksa NIK"})
    form.save_section("data_utama", {**form.sections["data_utama"], "nama": "Baru"}, True, "bi", False)
    events = stored(form)
    for upto in range(1, len(events) + 1):
        whole = Form.load(NIP, events[:upto])
        snapshot = Form.from_snapshot(NIP, whole.snapshot_state(), upto)
        assert vars(snapshot) == vars(whole)
        later = Form.load(NIP, events)
        snapshot.apply_all(events[upto:])
        assert vars(snapshot) == vars(later)


def test_a_snapshot_keeps_every_attribute_the_events_set():
    # a state attribute added to Form but not to SNAPSHOT_FIELDS would be lost by every load from a snapshot
    assert set(vars(opened())) - BASE_ATTRIBUTES == set(Form.SNAPSHOT_FIELDS)
