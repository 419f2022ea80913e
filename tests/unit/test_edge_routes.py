"""Thin handlers: each SPEC route calls the contract's RPC with the right arguments and dumps the answer."""
from __future__ import annotations

import base64
import io

from identity.schemas import CampaignSchema, load
from pupns.auth import sign_receipt
from tests.unit.test_edge_errors import REG, FakeBackend, bearer, make_client

NIP = "199001012015031001"
ACTOR = {"id": NIP, "role": "pns", "instansi_kode": "A01"}
PDF = {"content_b64": base64.b64encode(b"%PDF-1.4 test").decode(), "sha256": "x"}


def test_registration_answers_201_with_absolute_receipt_url():
    answer = {"registration_number": "PUPNS-2015-ABCDEFGH", "nip": NIP, "nama": "Budi", "instansi_nama": "BKN",
              "status": "pending_confirmation", "receipt_path": "/api/v1/receipts/PUPNS-2015-ABCDEFGH.pdf?sig=k.1"}
    client, backend, _ = make_client(FakeBackend(**{"identity.register": answer}))
    response = client.post("/api/v1/registrations", json=REG, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert response.json["receipt_url"] == "http://localhost/api/v1/receipts/PUPNS-2015-ABCDEFGH.pdf?sig=k.1"
    assert "receipt_path" not in response.json
    assert backend.calls == [("identity", "register", (REG,), {"idempotency_key": "k-1"})]


def test_receipt_needs_a_valid_signature():
    number = "PUPNS-2015-ABCDEFGH"
    client, backend, _ = make_client(FakeBackend(**{"identity.get_registration": {"registration_number": number},
                                                    "documents.get_receipt": PDF}))
    assert client.get(f"/api/v1/receipts/{number}.pdf?sig=dev.0000").status_code == 404
    assert backend.calls == []
    response = client.get(f"/api/v1/receipts/{number}.pdf?sig={sign_receipt(number)}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == b"%PDF-1.4 test"
    assert backend.calls[1] == ("documents", "get_receipt", ({"registration_number": number},), {})


def test_form_has_etag_and_section_save_passes_if_match():
    client, backend, _ = make_client(FakeBackend(**{"forms.get_form": {"version": 3, "status": "draft"},
                                                    "forms.save_section": {"version": 4}}))
    response = client.get("/api/v1/me/form", headers=bearer())
    assert response.headers["ETag"] == '"3"'
    response = client.put("/api/v1/me/form/sections/riwayat_diklat", json=[], headers={**bearer(), "If-Match": '"3"'})
    assert response.status_code == 200 and response.json == {"version": 4}
    assert backend.calls[-1] == ("forms", "save_section", (NIP, "riwayat_diklat", [], 3), {"idempotency_key": None})
    client.put("/api/v1/me/form/sections/riwayat_diklat", json=[],
               headers={**bearer(), "If-Match": '"3"', "Idempotency-Key": "k-1"})
    assert backend.calls[-1][3] == {"idempotency_key": "k-1"}  # forms replays a retried save's first answer


def test_upload_enforces_the_kind_limit_and_passes_base64():
    client, backend, _ = make_client(FakeBackend(**{"documents.upload_document": {"document_id": "d1"}}),
                                     max_jpeg_bytes=100)
    too_big = {"kind": "foto", "file": (io.BytesIO(b"\xff\xd8" + b"0" * 200), "f.jpg")}
    response = client.post("/api/v1/me/documents", data=too_big, headers=bearer())
    assert response.status_code == 413 and backend.calls == []
    ok = {"kind": "ijazah", "file": (io.BytesIO(b"%PDF-1.4"), "i.pdf")}
    response = client.post("/api/v1/me/documents", data=ok, headers=bearer())
    assert response.status_code == 201
    assert backend.calls == [("documents", "upload_document",
                              (NIP, "A01", "ijazah", "i.pdf", base64.b64encode(b"%PDF-1.4").decode(), ACTOR), {})]


def test_upload_over_the_largest_limit_is_refused_before_reading():
    client, backend, _ = make_client(max_pdf_bytes=1000, max_jpeg_bytes=100)
    data = {"kind": "ijazah", "file": (io.BytesIO(b"%PDF" + b"0" * 200_000), "i.pdf")}
    assert client.post("/api/v1/me/documents", data=data, headers=bearer()).status_code == 413


def test_verifier_listing_passes_query_and_actor():
    client, backend, _ = make_client(FakeBackend(**{"verification.list_registrations": {"items": [], "next": None}}))
    headers = bearer("verifier", "v1", "A01")
    response = client.get("/api/v1/verifier/registrations?status=pending&cursor=abc", headers=headers)
    assert response.status_code == 200
    actor = {"id": "v1", "role": "verifier", "instansi_kode": "A01"}
    assert backend.calls == [("verification", "list_registrations", (actor,), {"status": "pending", "cursor": "abc"})]


def test_audit_merges_all_services_in_order():
    def events(service, at, pos):
        return [{"stream": f"{service}-1", "version": 1, "type": "X", "occurred_at": at, "service": service,
                 "position": pos, "actor": {}, "data": {}, "hash": service}]

    backend = FakeBackend(**{"identity.audit_events": events("identity", "2015-09-02", 1),
                             "forms.audit_events": events("forms", "2015-09-01", 9),
                             "verification.audit_events": [], "documents.audit_events": [],
                             "notifications.audit_events": events("notifications", "2015-09-02", 0)})
    client, _, _ = make_client(backend)
    response = client.get(f"/api/v1/admin/audit/{NIP}", headers=bearer("admin", "admin", None))
    assert [e["hash"] for e in response.json["events"]] == ["forms", "identity", "notifications"]
    assert set(response.json["events"][0]) == {"stream", "version", "type", "occurred_at", "actor", "data", "hash"}


def test_campaign_put_checks_shape_and_identity_checks_the_offsets():
    def set_campaign(payload, actor):  # identity's own boundary schema, as the real service loads it
        load(CampaignSchema(), payload)
        return {"ok": True}

    client, backend, _ = make_client(FakeBackend(**{"identity.set_campaign": set_campaign}))
    admin = bearer("admin", "admin", None)
    shape = client.put("/api/v1/admin/campaign", json={"opens_at": 1, "closes_at": "x"}, headers=admin)
    assert shape.status_code == 422 and set(shape.json["error"]["fields"]) == {"opens_at"} and not backend.calls
    bad = client.put("/api/v1/admin/campaign", json={"opens_at": "2015-09-01", "closes_at": "x"}, headers=admin)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"opens_at", "closes_at"}
    body = {"opens_at": "2015-09-01T00:00:00+07:00", "closes_at": "2015-12-31T23:59:59+07:00"}
    assert client.put("/api/v1/admin/campaign", json=body, headers=admin).status_code == 200
    assert backend.calls[-1][2][0] == body  # the strings as sent: identity parses them


def test_admin_record_actions_pass_reason_and_actor():
    client, backend, _ = make_client(FakeBackend(**{"identity.reinstate": {"nip": "1", "status": "draft"},
                                                    "forms.reopen_record": {"nip": "1", "status": "draft"}}))
    admin = bearer("admin", "admin", None)
    reinstated = client.post("/api/v1/admin/records/1/reinstate", json={"reason": "Cuti sakit"}, headers=admin)
    reopened = client.post("/api/v1/admin/records/1/reopen", json={"reason": "Salah input"}, headers=admin)
    assert reinstated.status_code == 200 and reopened.status_code == 200
    (_, method_a, args_a, _), (_, method_b, args_b, _) = backend.calls
    assert (method_a, args_a[:2], args_a[2]["role"]) == ("reinstate", ("1", "Cuti sakit"), "admin")
    assert (method_b, args_b[:2]) == ("reopen_record", ("1", "Salah input"))
    refused = client.post("/api/v1/admin/records/1/reinstate", json={"reason": "x"}, headers=bearer("verifier"))
    assert refused.status_code == 403 and len(backend.calls) == 2
    bad = client.post("/api/v1/admin/records/1/reinstate", json={"alasan": "x"}, headers=admin)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "validation_error"


def test_statement_pdf_carries_its_stamp_state():
    statement = {"content_b64": base64.b64encode(b"%PDF-1.4 stamped").decode(), "state": "stamped",
                 "filename": "surat-pernyataan.pdf"}
    client, backend, _ = make_client(FakeBackend(**{"documents.get_statement": statement}))
    answer = client.get("/api/v1/me/statement.pdf", headers=bearer())
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert answer.headers["X-Stamp-State"] == "stamped" and answer.content_type == "application/pdf"
    service, method, args, _ = backend.calls[0]
    assert (service, method, args[0], args[1]["role"]) == ("documents", "get_statement", "199001012015031001", "pns")
