"""Field rules of each form section (SPEC: Form sections, Types, Field rules)."""
from datetime import date, timedelta

import pytest

from forms.schemas.fields import today
from forms.schemas.sections import completeness, validate_section

BORN = date(1985, 3, 12)


def utama(**overrides):
    value = {"nama": "Budi Santoso", "tempat_lahir": "Bandung", "tanggal_lahir": "1985-03-12",
             "jenis_kelamin": "L", "agama": "Islam", "nik": "3201011203850001"}
    return {**value, **overrides}


def errors_of(key, value):
    clean, errors = validate_section(key, value, BORN)
    assert clean is None
    return errors


def test_valid_data_utama_normalises_npwp_and_phone_and_fills_optional_fields():
    clean, errors = validate_section("data_utama", utama(npwp="01.234.567.8-901.000", no_hp="0812-3456-7890"), BORN)
    assert errors == {}
    assert clean["npwp"] == "012345678901000"
    assert clean["no_hp"] == "081234567890"
    assert clean["alamat"] is None and clean["email"] is None


@pytest.mark.parametrize("field,value", [
    ("nik", "12345"), ("nik", "320101120385000A"), ("npwp", "12.345"), ("no_hp", "+1555123456"),
    ("no_hp", "12345678"), ("email", "bukan-email"), ("tanggal_lahir", "1985-02-30"),
    ("tanggal_lahir", "12-03-1985"), ("jenis_kelamin", "X"), ("nama", ""), ("nama", 42),
])
def test_data_utama_rejects_bad_values(field, value):
    assert field in {k.split(".")[1] for k in errors_of("data_utama", utama(**{field: value}))}


def test_unknown_fields_are_rejected_not_ignored():
    assert errors_of("data_utama", utama(hobi="catur")) == {"data_utama.hobi": ["kolom tidak dikenal"]}


def test_future_dates_are_rejected_but_licence_expiry_may_be_future():
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert "data_utama.tanggal_lahir" in errors_of("data_utama", utama(tanggal_lahir=tomorrow))
    clean, errors = validate_section("data_dokter", {"nomor_str": "STR-1", "berlaku_sampai": "2099-01-01"}, BORN)
    assert errors == {} and clean["berlaku_sampai"] == "2099-01-01"


def test_years_and_hours_are_json_integers_within_birth_year_plus_five_and_now():
    errors = errors_of("riwayat_diklat", [{"nama": "Latsar", "tahun": "2012"}, {"nama": "PIM", "tahun": 2012,
                                                                             "jam_pelajaran": 40.5}])
    assert set(errors) == {"riwayat_diklat.0.tahun", "riwayat_diklat.1.jam_pelajaran"}
    errors = errors_of("riwayat_penghargaan", [{"nama": "Satyalancana", "tahun": 1989}])
    assert errors == {"riwayat_penghargaan.0.tahun": [f"tahun harus antara 1990 dan {today().year}"]}
    assert "riwayat_diklat.0.tahun" in errors_of("riwayat_diklat", [{"nama": "x", "tahun": True}])


def test_rank_history_must_be_chronological_and_never_go_down():
    errors = errors_of("riwayat_golongan", [
        {"golongan": "32", "tmt": "2014-04-01"}, {"golongan": "31", "tmt": "2010-04-01"}])
    assert set(errors) == {"riwayat_golongan.1.tmt", "riwayat_golongan.1.golongan"}
    assert errors_of("riwayat_golongan", [{"golongan": "35", "tmt": "2010-04-01"}]).keys() == {
        "riwayat_golongan.0.golongan"}


def test_required_lists_need_at_least_one_entry_optional_lists_may_be_empty():
    assert errors_of("riwayat_jabatan", []) == {"riwayat_jabatan": ["minimal satu entri"]}
    assert errors_of("riwayat_pendidikan", {"tingkat": "S1"}) == {"riwayat_pendidikan": ["harus berupa daftar"]}
    assert validate_section("riwayat_diklat", [], BORN) == ([], {})


def test_education_level_and_teacher_flag_types():
    errors = errors_of("riwayat_pendidikan", [{"tingkat": "S4", "nama_sekolah": "UI", "tahun_lulus": 2008}])
    assert set(errors) == {"riwayat_pendidikan.0.tingkat"}
    assert "data_guru.sertifikasi" in errors_of("data_guru", {"sertifikasi": "ya", "sekolah": "SDN 1"})


def test_bpjs_number_is_thirteen_digits():
    assert "data_stakeholder.bpjs_kesehatan_nomor" in errors_of("data_stakeholder", {"bpjs_kesehatan_nomor": "123"})
    clean, errors = validate_section("data_stakeholder", {"bpjs_kesehatan_nomor": "0001234567890"}, BORN)
    assert errors == {} and clean["taspen_nomor"] is None


def test_completeness_reports_invalid_prefilled_sections():
    problems = completeness({"data_utama": utama(agama=None)}, ["data_utama", "data_posisi"], BORN)
    assert list(problems) == ["data_utama"]
