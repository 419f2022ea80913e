"""GET /api/v1/me shows each e-mail as sent or still being retried, in time order with the account's events."""
from __future__ import annotations

from tests.unit.test_edge_errors import FakeBackend, bearer, make_client

ACCOUNT = {"nip": "199001012015031001", "nama": "Budi", "instansi_kode": "A01", "status": "pending_confirmation",
           "registration_number": "PUPNS-2026-ABCDEFGH",
           "timeline": [{"at": "2026-12-02T10:00:00.000+00:00", "type": "registered", "by_role": "pns", "note": None}]}
EMAILS = [
    {"queued_at": "2026-12-02T10:00:00.100+00:00", "sent_at": "2026-12-02T10:00:01.000+00:00", "status": "sent",
     "attempts": 0, "subject": "Pendaftaran PUPNS diterima"},
    {"queued_at": "2026-12-02T11:00:00.000+00:00", "sent_at": None, "status": "pending", "attempts": 3,
     "subject": "Pendaftaran dikonfirmasi"},
]


def test_the_timeline_carries_each_email_sent_or_still_retrying():
    client, backend, _ = make_client(FakeBackend(**{"identity.get_me": ACCOUNT, "notifications.emails_of": EMAILS}))
    me = client.get("/api/v1/me", headers=bearer()).json
    assert [(e["type"], e["at"]) for e in me["timeline"]] == [
        ("registered", "2026-12-02T10:00:00.000+00:00"), ("email_sent", "2026-12-02T10:00:01.000+00:00"),
        ("email_retrying", "2026-12-02T11:00:00.000+00:00")]
    assert "dicoba ulang" in me["timeline"][2]["note"] and me["timeline"][1]["by_role"] == "system"
    assert ("notifications", "emails_of", ("199001012015031001", {"id": "199001012015031001", "role": "pns",
                                                                 "instansi_kode": "A01"}), {}) in backend.calls


def test_without_the_email_service_the_account_and_its_history_still_show():
    from pupns.errors import AppError

    client, _, _ = make_client(FakeBackend(**{"identity.get_me": ACCOUNT,
                                              "notifications.emails_of": AppError("unavailable")}))
    answer = client.get("/api/v1/me", headers=bearer())
    assert answer.status_code == 200 and [e["type"] for e in answer.json["timeline"]] == ["registered"]


def test_an_email_given_up_after_erasure_says_so_instead_of_retrying():
    given_up = {"queued_at": "2026-12-02T12:00:00.000+00:00", "sent_at": None, "status": "given_up", "attempts": 1,
                "subject": "Data diverifikasi"}
    client, _, _ = make_client(FakeBackend(**{"identity.get_me": ACCOUNT, "notifications.emails_of": [given_up]}))
    entry = client.get("/api/v1/me", headers=bearer()).json["timeline"][-1]
    assert entry["type"] == "email_given_up" and "alamat tujuan sudah dihapus" in entry["note"]
