"""Notifications and personal data (SPEC §7, issue 13) on real RabbitMQ, SecantusDB and the SMTP sink: addresses
and bodies are sealed in events and read models, opened for SMTP and the PNS's own list; after erasure the list
shows null + `_erased` and a pending e-mail is given up instead of retried."""
from __future__ import annotations

import base64
import email
import uuid
from email import policy

import bson
import pytest
from nameko.standalone.events import event_dispatcher

from notifications.adapters.projections import Projector
from notifications.service import NotificationsService
from pupns.contracts import identity, verification
from pupns.personal import KeyStore
from pupns.replay import check
from pupns_dev.processes import free_port, start_smtp_sink, stop
from pupns_dev.waiting import wait_until
from tests.factories import fresh_nip
from tests.rpc import signed_proxy


def upstream(contract: type, nip: str, data: dict) -> dict:
    """An internal message as the relay publishes it, at the contract's current version."""
    return {"event_id": uuid.uuid4().hex, "stream": f"x-{nip}", "version": 1, "type": contract.TYPE,
            "schema_version": contract.VERSION, "occurred_at": "2015-09-01T10:00:00.000+00:00", "nip": nip,
            "instansi_kode": "4011", "data": data, "meta": {"actor": "system", "role": "system"}}


def registration_submitted(nip: str, address: str, nik: str) -> dict:
    return upstream(identity.RegistrationSubmitted, nip, {
        "registration_number": f"PUPNS-2015-{uuid.uuid4().hex[:8].upper()}", "nip": nip, "email": address,
        "nama": "Siti Rahayu", "instansi_kode": "4011", "instansi_nama": "Pemerintah Kota Bandung",
        "unit_kerja": "Dinas Pendidikan", "roster": {"nik": nik}, "registered_at": "2015-09-01T10:00:00+07:00"})


def mails_to(maildir, address: str) -> list:
    found = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(maildir.glob("*.eml"))]
    return [m for m in found if m["To"] == address]


def leaks(db, values: list[str]) -> list[str]:
    """Every collection of the service's database, searched for the values (as text and as base64)."""
    needles = [v.encode() for v in values] + [base64.b64encode(v.encode()) for v in values]
    found = []
    for name in db.list_collection_names():
        for doc in db[name].find():
            raw = bson.encode(doc)
            found += [f"{name}: {needle[:20]!r}" for needle in needles if needle in raw]
    return found


def types(store, stream: str) -> list[str]:
    return [e["type"] for e in store.read_stream(stream)]


@pytest.fixture
def service(runner_factory, rabbit_config, db_prefix, monkeypatch):
    """Notifications on a free SMTP port (the test starts the sink when it wants mail to pass)."""
    port = free_port()
    monkeypatch.setenv("PUPNS_SMTP_PORT", str(port))
    monkeypatch.setenv("PUPNS_MAIL_RETRY_BASE", "0.2")
    monkeypatch.setenv("PUPNS_MAIL_RETRY_MAX", "0.5")
    monkeypatch.setenv("PUPNS_MAIL_RETRY_INTERVAL", "0.3")
    monkeypatch.setenv("PUPNS_KEY_CACHE_TTL", "0")  # an erasure in this test's key store is seen at once
    runner_factory(rabbit_config, NotificationsService).start()
    send = event_dispatcher(rabbit_config)
    with signed_proxy("notifications", rabbit_config, timeout=60) as proxy:
        yield port, proxy, lambda source, message: send(source, message["type"], message)


def test_addresses_and_bodies_are_sealed_opened_for_smtp_and_the_pns_and_null_after_erasure(service, store_for,
                                                                                            tmp_path):
    port, notifications, dispatch = service
    sink = start_smtp_sink(port, tmp_path / "mail", tmp_path / "smtp.log")
    try:
        nip, nik = fresh_nip("3"), f"3273{uuid.uuid4().int % 10**12:012d}"
        address = f"rahasia.{uuid.uuid4().hex[:8]}@example.go.id"
        note = f"NIK {nik} tidak sesuai KTP"  # a verifier's note quoting a personal value: the body is sealed
        dispatch("identity", registration_submitted(nip, address, nik))
        dispatch("verification", upstream(verification.SubmissionReturned, nip, {"notes": {"data_utama": note}}))
        sent = wait_until(lambda: len(m := mails_to(tmp_path / "mail", address)) == 2 and m, message="two e-mails")
        assert any(note in m.get_content() for m in sent)  # SMTP gets the clear address and body
    finally:
        stop(sink)
    store = store_for("notifications")
    wait_until(lambda: [r["status"] for r in store.db["emails"].find()] == ["sent"] * 2, message="recorded sent")

    assert leaks(store.db, [address, nik]) == []
    queued = [e for e in store.events.find({"type": {"$in": ["EmailQueued", "ContactRecorded"]}})]
    assert {e["schema_version"] for e in queued} == {2}
    pns = {"id": nip, "role": "pns", "instansi_kode": "4011"}
    assert [e["to"] for e in notifications.emails_of(nip, pns)] == [address, address]

    KeyStore.from_env().erase(nip, reason="test", actor="admin")
    after = notifications.emails_of(nip, pns)
    assert [(e["to"], e["_erased"], e["status"]) for e in after] == [(None, True, "sent")] * 2
    assert check(store, lambda db: Projector(db))["equal"]


def test_a_pending_email_to_an_erased_address_is_given_up_not_retried(service, store_for, tmp_path):
    port, notifications, dispatch = service  # no SMTP sink yet: every attempt fails
    nip, address = fresh_nip("3"), f"tertunda.{uuid.uuid4().hex[:8]}@example.go.id"
    message = registration_submitted(nip, address, f"3273{uuid.uuid4().int % 10**12:012d}")
    dispatch("identity", message)
    store, stream = store_for("notifications"), f"email-{message['event_id']}"
    wait_until(lambda: "EmailFailed" in types(store, stream), message="first delivery attempt failed")
    failed = next(e for e in store.read_stream(stream) if e["type"] == "EmailFailed")
    assert address not in failed["data"]["error"]

    KeyStore.from_env().erase(nip, reason="test", actor="admin")
    wait_until(lambda: types(store, stream)[-1] == "EmailGivenUp", message="e-mail given up")
    sink = start_smtp_sink(port, tmp_path / "mail", tmp_path / "smtp.log")
    try:
        # The queue holds nothing due any more: a later e-mail passes, the given-up one never does.
        other = f"lain.{uuid.uuid4().hex[:8]}@example.go.id"
        dispatch("identity", registration_submitted(fresh_nip("3"), other, "3273000000000000"))
        wait_until(lambda: mails_to(tmp_path / "mail", other), message="another PNS's e-mail delivered")
        assert mails_to(tmp_path / "mail", address) == []
    finally:
        stop(sink)
    row = store.db["emails"].find_one({"_id": message["event_id"]})
    assert row["status"] == "given_up" and row["last_error"] == "recipient_erased"
    assert types(store, stream).count("EmailGivenUp") == 1 and "EmailSent" not in types(store, stream)
    (shown,) = notifications.emails_of(nip, {"id": nip, "role": "pns", "instansi_kode": "4011"})
    assert shown["status"] == "given_up" and shown["to"] is None and shown["_erased"] is True
    assert leaks(store.db, [address]) == []
    wait_until(lambda: store.db["emails"].count_documents({"status": "sent"}) == 1, message="other recorded sent")
    assert check(store, lambda db: Projector(db))["equal"]
