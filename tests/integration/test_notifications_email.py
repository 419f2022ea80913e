"""Notifications against real RabbitMQ, SecantusDB and the SMTP sink: e-mails arrive, once, even after an outage."""
from __future__ import annotations

import email
import uuid
from email import policy

import pytest
from nameko.standalone.events import event_dispatcher

from notifications.adapters.projections import Projector
from notifications.service import NotificationsService
from pupns.errors import AppError
from pupns.replay import rebuild
from pupns_dev.processes import free_port, start_smtp_sink, stop
from pupns_dev.waiting import wait_until
from tests.factories import fresh_nip
from tests.rpc import signed_proxy


def upstream(event_type: str, nip: str, data: dict) -> dict:
    """An internal message as the relay publishes it."""
    return {"event_id": uuid.uuid4().hex, "stream": f"x-{nip}", "version": 1, "type": event_type,
            "occurred_at": "2015-09-01T10:00:00.000+00:00", "nip": nip, "instansi_kode": "4011",
            "data": data, "meta": {"actor": "system", "role": "system"}}


def registration_submitted(nip: str, address: str) -> dict:
    return upstream("RegistrationSubmitted", nip, {
        "registration_number": f"PUPNS-2015-{uuid.uuid4().hex[:8].upper()}", "nip": nip, "email": address,
        "nama": "Siti Rahayu", "instansi_kode": "4011", "instansi_nama": "Pemerintah Kota Bandung",
        "unit_kerja": "Dinas Pendidikan", "roster": {}, "registered_at": "2015-09-01T10:00:00+07:00"})


def mails(maildir) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(maildir.glob("*.eml"))]


def mails_to(maildir, address: str) -> list:
    return [m for m in mails(maildir) if m["To"] == address]


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    """The SMTP sink on a free port; PUPNS_SMTP_PORT points at it."""
    port, maildir = free_port(), tmp_path / "mail"
    monkeypatch.setenv("PUPNS_SMTP_PORT", str(port))
    monkeypatch.setenv("PUPNS_MAIL_RETRY_BASE", "0.2")
    proc = start_smtp_sink(port, maildir, tmp_path / "smtp.log")
    yield maildir
    stop(proc)


@pytest.fixture
def dispatch(rabbit_config):
    send = event_dispatcher(rabbit_config)
    return lambda source, message: send(source, message["type"], message)


def types(store, stream: str) -> list[str]:
    return [e["type"] for e in store.read_stream(stream)]


def test_registration_submitted_sends_indonesian_receipt_mail(runner_factory, rabbit_config, smtp, dispatch,
                                                             store_for):
    runner_factory(rabbit_config, NotificationsService).start()
    nip, address = fresh_nip(), f"siti.{uuid.uuid4().hex[:6]}@example.go.id"
    message = registration_submitted(nip, address)
    dispatch("identity", message)

    (mail,) = wait_until(lambda: mails_to(smtp, address), message="receipt e-mail delivered")
    number = message["data"]["registration_number"]
    assert mail["Subject"] == f"Pendaftaran PUPNS diterima ({number})"
    assert mail["X-Envelope-To"] == address
    assert mail.get_content_charset() == "utf-8"
    assert number in mail.get_content() and "Yth. Siti Rahayu" in mail.get_content()
    store = store_for("notifications")
    wait_until(lambda: types(store, f"email-{message['event_id']}") == ["EmailQueued", "EmailSent"])
    assert types(store, f"contact-{nip}") == ["ContactRecorded"]


def test_same_event_delivered_twice_sends_one_mail(runner_factory, rabbit_config, smtp, dispatch, store_for):
    # One worker: the handler's queue is consumed in order, so the marker is handled after both copies.
    runner_factory({**rabbit_config, "max_workers": 1}, NotificationsService).start()
    address = f"dup.{uuid.uuid4().hex[:6]}@example.go.id"
    message = registration_submitted(fresh_nip(), address)
    marker_address = f"marker.{uuid.uuid4().hex[:6]}@example.go.id"
    dispatch("identity", message)
    dispatch("identity", message)
    dispatch("identity", registration_submitted(fresh_nip(), marker_address))

    wait_until(lambda: mails_to(smtp, marker_address), message="marker e-mail delivered")
    assert len(mails_to(smtp, address)) == 1
    store = store_for("notifications")
    assert types(store, f"email-{message['event_id']}") == ["EmailQueued", "EmailSent"]
    assert types(store, f"contact-{message['nip']}") == ["ContactRecorded"]


def test_smtp_outage_is_retried_until_delivered(runner_factory, rabbit_config, dispatch, store_for, tmp_path,
                                               monkeypatch):
    port, maildir = free_port(), tmp_path / "mail"  # nothing listens on `port` yet
    monkeypatch.setenv("PUPNS_SMTP_PORT", str(port))
    monkeypatch.setenv("PUPNS_MAIL_RETRY_BASE", "0.2")
    runner_factory(rabbit_config, NotificationsService).start()
    address = f"outage.{uuid.uuid4().hex[:6]}@example.go.id"
    message = registration_submitted(fresh_nip(), address)
    dispatch("identity", message)

    store = store_for("notifications")
    stream = f"email-{message['event_id']}"
    wait_until(lambda: "EmailFailed" in types(store, stream), message="first attempt failed")
    failed = next(e for e in store.read_stream(stream) if e["type"] == "EmailFailed")
    assert failed["data"]["attempt"] == 1 and failed["data"]["error"]
    nip, pns = message["nip"], {"id": message["nip"], "role": "pns", "instansi_kode": None}
    with signed_proxy("notifications", rabbit_config) as notifications:
        (retrying,) = notifications.emails_of(nip, pns)  # the PNS sees it is being retried
        assert retrying["status"] == "pending" and retrying["attempts"] >= 1 and retrying["sent_at"] is None
        with pytest.raises(AppError):
            notifications.emails_of(nip, {**pns, "id": fresh_nip()})  # nobody else's

        proc = start_smtp_sink(port, maildir, tmp_path / "smtp.log")
        try:
            (mail,) = wait_until(lambda: mails_to(maildir, address), timeout=30, message="retry delivered")
            assert mail["Subject"].startswith("Pendaftaran PUPNS diterima")
            wait_until(lambda: types(store, stream)[-1] == "EmailSent", message="EmailSent recorded")
            assert notifications.emails_of(nip, pns)[0]["status"] == "sent"
        finally:
            stop(proc)


def test_verification_mails_use_recorded_contact_and_wait_for_it(runner_factory, rabbit_config, smtp, dispatch,
                                                                store_for):
    runner_factory(rabbit_config, NotificationsService).start()
    nip, address = fresh_nip(), f"budi.{uuid.uuid4().hex[:6]}@example.go.id"
    # The approval overtakes the registration: it waits for the contact instead of being lost.
    approved = upstream("SubmissionApproved", nip, {"sections": {}})
    dispatch("verification", approved)
    store = store_for("notifications")
    wait_until(lambda: types(store, f"email-{approved['event_id']}") == ["EmailQueued"])
    assert store.db["emails"].find_one({"_id": approved["event_id"]})["status"] == "waiting_contact"

    dispatch("identity", registration_submitted(nip, address))
    returned = upstream("SubmissionReturned", nip, {"notes": {"data_utama": "NIK tidak sesuai KTP",
                                                              "riwayat_pendidikan": "Unggah ijazah S1"}})
    dispatch("verification", returned)

    subjects = wait_until(lambda: (s := sorted(m["Subject"] for m in mails_to(smtp, address))) and len(s) == 3
                          and s, message="three e-mails delivered")
    assert "Data Anda telah diverifikasi" in subjects
    assert "Data Anda dikembalikan untuk diperbaiki" in subjects
    notes_mail = next(m for m in mails_to(smtp, address) if m["Subject"].startswith("Data Anda dikembalikan"))
    assert "- Data Utama: NIK tidak sesuai KTP" in notes_mail.get_content()
    assert "- Riwayat Pendidikan: Unggah ijazah S1" in notes_mail.get_content()

    # Replaying the log rebuilds the same read models, once the service has recorded every delivery (the SMTP
    # sink has a mail before the service appends its EmailSent).
    wait_until(lambda: [r["status"] for r in store.db["emails"].find()] == ["sent"] * 3,
               message="three e-mails recorded as sent")

    def snapshot():
        emails = [{k: v for k, v in row.items() if k != "lease_until"} for row in store.db["emails"].find()]
        return sorted(emails, key=lambda r: r["_id"]), list(store.db["contacts"].find())
    before = snapshot()
    rebuild(store, Projector(store.db))
    assert snapshot() == before


def test_reminders_and_the_sanction_reach_a_registered_pns_once_and_nobody_else(runner_factory, rabbit_config,
                                                                               smtp, dispatch, store_for):
    runner_factory({**rabbit_config, "max_workers": 1}, NotificationsService).start()
    nip, address = fresh_nip(), f"pengingat.{uuid.uuid4().hex[:6]}@example.go.id"
    dispatch("identity", registration_submitted(nip, address))
    wait_until(lambda: mails_to(smtp, address), message="receipt e-mail delivered")
    reminder = upstream("ReminderDue", nip, {"closes_at": "2015-12-31T16:59:00+00:00", "before": "7d"})
    dispatch("identity", reminder)
    dispatch("identity", reminder)  # delivered twice: one e-mail
    stranger = upstream("ReminderDue", fresh_nip(), {"closes_at": "2015-12-31T16:59:00+00:00", "before": "7d"})
    dispatch("identity", stranger)  # never registered: no address, no e-mail
    dispatch("identity", upstream("MarkedNotReregistered", nip, {"closes_at": "2015-12-31T16:59:00+00:00"}))
    dispatch("identity", upstream("Reinstated", nip, {"reason": "Sakit, surat dokter terlampir",
                                                      "automatic": False}))
    sent = wait_until(lambda: len(mails_to(smtp, address)) >= 4 and mails_to(smtp, address),
                      message="reminder, sanction and reinstatement e-mails")
    subjects = [m["Subject"] for m in sent[1:]]
    assert sorted(subjects) == sorted(["Pengingat: PUPNS berakhir 31-12-2015 23:59 WIB",
                                       "Status PUPNS Anda: tidak mendaftar ulang", "Status PUPNS Anda dipulihkan"])
    assert "Sakit, surat dokter terlampir" in sent[-1].get_content() or any(
        "Sakit, surat dokter terlampir" in m.get_content() for m in sent)
    store = store_for("notifications")
    assert types(store, f"email-{reminder['event_id']}") == ["EmailQueued", "EmailSent"]
    wait_until(lambda: store.recall(f"handle_reminder_due:{stranger['event_id']}"), message="stranger handled")
    assert store.events.count_documents({"type": "EmailQueued"}) == 4  # receipt, reminder, sanction, reinstatement
