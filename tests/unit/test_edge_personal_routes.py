"""GET /api/v1/me/export (right of access) and POST /api/v1/admin/records/{nip}/erase (SPEC §4, §7) at the edge."""
from __future__ import annotations

from pupns.errors import AppError
from tests.unit.test_edge_errors import FakeBackend, bearer, make_client

NIP = "199001012015031001"
HELD = {"roster": {"nip": NIP, "nama": "Budi", "nik": "3174010101900001"},
        "account": {"email": "budi@contoh.go.id", "status": "verified", "registration_number": "PUPNS-2026-ABCDEFGH"},
        "timeline": [{"at": "2026-12-02T10:00:00.000+00:00", "type": "registered", "by_role": "pns", "note": None}]}
FORM = {"version": 3, "status": "verified", "sections": {"data_utama": {"nama": "Budi", "npwp": "123456789012345"}}}
DOCUMENTS = [{"document_id": "d1", "kind": "ijazah", "sha256": "ab" * 32, "size": 10}]
EMAILS = [{"subject": "Pendaftaran PUPNS diterima", "status": "sent"}]


def test_the_export_holds_everything_about_the_caller_as_a_file_to_keep():
    backend = FakeBackend(**{"identity.export_of": HELD, "forms.get_form": FORM,
                             "documents.list_documents": DOCUMENTS, "notifications.emails_of": EMAILS})
    client, backend, _ = make_client(backend)
    answer = client.get("/api/v1/me/export", headers=bearer())
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="data-pupns-{NIP}.json"'
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    assert (body["nip"], body["roster"], body["account"], body["form"], body["documents"], body["emails"]) == (
        NIP, HELD["roster"], HELD["account"], FORM, DOCUMENTS, EMAILS)
    assert body["timeline"] == HELD["timeline"] and body["exported_at"]
    assert {(service, method, args[0]) for service, method, args, _ in backend.calls} >= {
        ("identity", "export_of", NIP), ("forms", "get_form", NIP), ("documents", "list_documents", NIP)}


def test_only_the_pns_themselves_export_and_staff_cannot():
    client, backend, _ = make_client(FakeBackend())
    assert client.get("/api/v1/me/export").status_code == 401
    assert client.get("/api/v1/me/export", headers=bearer(role="admin", sub="admin")).status_code == 403
    assert backend.calls == []


def test_erase_passes_the_reason_and_the_admin_to_identity():
    done = {"nip": NIP, "erased": True, "erased_at": "2026-12-02T12:00:00.000+00:00"}
    client, backend, _ = make_client(FakeBackend(**{"identity.erase_record": done}))
    admin = bearer(role="admin", sub="admin", instansi=None)
    answer = client.post(f"/api/v1/admin/records/{NIP}/erase", json={"reason": "pendaftaran palsu"}, headers=admin)
    assert answer.status_code == 200 and answer.json == done
    ((service, method, args, _),) = backend.calls
    assert (service, method, args[:2]) == ("identity", "erase_record", (NIP, "pendaftaran palsu"))
    assert args[2]["role"] == "admin"


def test_erase_refuses_a_missing_reason_a_verifier_and_an_unknown_nip():
    client, backend, _ = make_client(FakeBackend(**{"identity.erase_record": AppError("not_found")}))
    admin = bearer(role="admin", sub="admin", instansi=None)
    missing = client.post(f"/api/v1/admin/records/{NIP}/erase", json={}, headers=admin)
    assert missing.status_code == 422 and missing.json["error"]["code"] == "validation_error"
    verifier = client.post(f"/api/v1/admin/records/{NIP}/erase", json={"reason": "x"},
                           headers=bearer(role="verifier", sub="v1"))
    assert verifier.status_code == 403 and backend.calls == []
    unknown = client.post(f"/api/v1/admin/records/{NIP}/erase", json={"reason": "x"}, headers=admin)
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"


def test_a_section_may_cite_only_the_callers_own_documents():
    mine = [{"document_id": "d-mine", "kind": "ijazah"}]
    client, backend, _ = make_client(FakeBackend(**{"documents.list_documents": mine,
                                                    "forms.save_section": {"version": 4}}))
    item = {"tingkat": "S1", "nama_sekolah": "UI", "jurusan": "Hukum", "tahun_lulus": 2010, "nomor_ijazah": "1"}
    body = [{**item, "document_id": "d-mine"}, {**item, "document_id": "d-someone-else"}, {**item, "document_id": None}]
    answer = client.put("/api/v1/me/form/sections/riwayat_pendidikan", json=body,
                        headers={**bearer(), "If-Match": "3"})
    assert answer.status_code == 422 and answer.json["error"]["fields"] == {
        "riwayat_pendidikan.1.document_id": ["Dokumen tidak ditemukan di antara unggahan Anda."]}
    assert not [call for call in backend.calls if call[1] == "save_section"]  # nothing stored
    body[1]["document_id"] = "d-mine"
    saved = client.put("/api/v1/me/form/sections/riwayat_pendidikan", json=body, headers={**bearer(), "If-Match": "3"})
    assert saved.status_code == 200 and saved.json == {"version": 4}
