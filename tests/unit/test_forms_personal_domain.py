"""forms' rules with sealed sections (issue 13): the NIK rule's result travels in the events, never decrypted."""
from __future__ import annotations

from datetime import date

from forms.adapters.nik_index import nik_key
from forms.adapters.projections import lookup_key
from forms.domain import Form
from forms.domain.anomalies import compute_anomalies, nik_mismatch
from forms.domain.events import FormOpened, FormSubmitted, SectionSaved
from pupns.nip import make_nik
from tests.factories import BORN, NIP, roster_row

TOKEN = "enc:v1:00000000000000aa:c2VhbGVk"
TODAY = date(2025, 1, 1)


def codes(found: list[dict]) -> list[str]:
    return [a["code"] for a in found]


def test_the_nik_rule_uses_the_commands_result_on_sealed_sections():
    sealed = {"data_utama": {"nik": TOKEN, "tanggal_lahir": "1985-03-12"}}
    assert codes(compute_anomalies(NIP, sealed, {}, TODAY)) == []  # a token is not compared
    assert codes(compute_anomalies(NIP, sealed, {}, TODAY, nik_mismatched=True)) == ["nik_nip_mismatch"]
    clear = {"data_utama": {"nik": make_nik("320101", BORN, "P", 1)}}  # schema 1 events: computed from the clear NIK
    assert codes(compute_anomalies(NIP, clear, {}, TODAY)) == ["nik_nip_mismatch"]


def test_nik_mismatch_on_clear_values_only():
    assert nik_mismatch(NIP, roster_row()["nik"], TODAY) is False
    assert nik_mismatch(NIP, make_nik("320101", BORN, "P", 1), TODAY) is True
    assert nik_mismatch(NIP, None, TODAY) is None and nik_mismatch(NIP, TOKEN, TODAY) is None


def test_events_carry_the_nik_facts_and_are_schema_2():
    assert FormOpened.SCHEMA_VERSION == SectionSaved.SCHEMA_VERSION == FormSubmitted.SCHEMA_VERSION == 2
    form = Form(NIP)
    form.open("A1", "Pranata Komputer", {"nik": TOKEN}, {"data_utama": {"nik": TOKEN}}, "bi-1", False)
    assert (form.nik_bi, form.nik_mismatch) == ("bi-1", False)
    form.save_section("riwayat_diklat", [], True)  # another section keeps the NIK facts
    assert (form.nik_bi, form.nik_mismatch) == ("bi-1", False)
    form.save_section("data_utama", {"nik": TOKEN}, True, "bi-2", True)
    assert (form.nik_bi, form.nik_mismatch) == ("bi-2", True) and lookup_key(form) == "bi-2"


def test_the_lookup_key_of_a_schema_1_form_comes_from_its_clear_nik():
    form = Form(NIP)
    form.apply_stored("FormOpened", {"instansi_kode": "A1", "jabatan": None, "roster": roster_row(),
                                     "sections": {"data_utama": {"nik": roster_row()["nik"]}}}, 1)
    assert form.nik_bi is None and lookup_key(form) == nik_key(roster_row()["nik"])
    form.apply_stored("SectionSaved", {"section": "data_utama", "value": {"nik": TOKEN}}, 2)
    assert lookup_key(form) is None  # sealed without facts: nothing is decrypted to guess
