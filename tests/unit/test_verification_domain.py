"""Registration and Submission decisions, roster changes and referenced documents."""
import pytest

from pupns.aggregate import DomainError
from verification.domain import Registration, Submission, changes_from_roster, referenced_documents
from verification.domain.events import RegistrationReceived
from verification.schemas import ReturnSchema, load

ROSTER = {"nama": "Budi", "tempat_lahir": "Bandung", "gelar_depan": "", "unit_kerja": "Diskominfo",
          "instansi_kode": "A1", "jabatan": "Pranata Komputer"}


def received(nip="198503122010011001") -> Registration:
    registration = Registration(nip)
    registration.receive(RegistrationReceived("PUPNS-2025-ABCD1234", "Budi", "b@x.id", "A1", "Kota Bandung",
                                              ROSTER, "2025-09-01T00:00:00+07:00"))
    return registration


def test_only_a_pending_registration_can_be_decided_and_a_rejected_one_may_come_again():
    registration = received()
    registration.reject("NIK tidak sesuai")
    with pytest.raises(DomainError) as err:
        registration.confirm()
    assert err.value.code == "invalid_state"
    assert registration.receive(RegistrationReceived("PUPNS-2025-ZZZZ9999", "Budi", None, "A1", None, ROSTER,
                                                     "2025-09-02T00:00:00+07:00"))
    registration.confirm()
    assert registration.status == "confirmed" and registration.pending[-1].registration_number == "PUPNS-2025-ZZZZ9999"
    assert not registration.receive(registration.pending[0])  # a stale repeat after confirmation changes nothing


def test_unknown_registration_is_not_found():
    with pytest.raises(DomainError) as err:
        Registration("x").confirm()
    assert err.value.code == "not_found"


def test_submission_decisions_need_a_submitted_form():
    submission = Submission("n")
    submission.receive({"data_utama": {"nama": "Budi"}}, "2025-09-03T00:00:00+07:00", [])
    submission.return_with_notes({"data_utama": "Lengkapi NPWP"})
    with pytest.raises(DomainError) as err:
        submission.approve()
    assert err.value.code == "invalid_state"
    submission.receive({"data_utama": {"nama": "Budi S"}}, "2025-09-04T00:00:00+07:00", [])
    submission.approve()
    assert submission.pending[-1].sections == {"data_utama": {"nama": "Budi S"}}


def test_changes_compare_identity_and_position_fields_with_the_roster():
    sections = {"data_utama": {"nama": "Budi Santoso", "tempat_lahir": "Bandung", "gelar_depan": None},
                "data_posisi": {"unit_kerja": "Diskominfo", "instansi_kode": "A1", "jabatan": "Pranata Komputer"}}
    assert changes_from_roster(sections, ROSTER) == [
        {"section": "data_utama", "field": "nama", "from": "Budi", "to": "Budi Santoso"}]


def test_referenced_documents_are_collected_once_in_order():
    sections = {"riwayat_pendidikan": [{"document_id": "d1"}, {"document_id": None}],
                "riwayat_golongan": [{"document_id": "d2"}, {"document_id": "d1"}]}
    assert referenced_documents(sections) == ["d1", "d2"]


@pytest.mark.parametrize("notes,field", [
    ({}, "notes"), ({"hobi": "x"}, "notes"), ({"data_utama": "  "}, "notes"), ("teks", "notes"),
    ({"data_utama": 5}, "notes.data_utama.value"),
])
def test_return_notes_must_name_known_sections_with_text(notes, field):
    from pupns.errors import AppError
    with pytest.raises(AppError) as err:
        load(ReturnSchema, {"notes": notes})
    assert err.value.code == "validation_error" and field in err.value.fields
