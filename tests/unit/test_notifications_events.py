"""The notifications service's typed events and the queued e-mail: stored names and data keys as before."""
from __future__ import annotations

from notifications.domain import events
from notifications.domain.email import GIVEN_UP, PENDING, SENT, WAITING, QueuedEmail
from notifications.domain.templates import Email

MAIL = Email("submission_approved", "Data Anda telah diverifikasi", "Yth. Bapak/Ibu, ...")


def test_stored_type_names_and_data_keys_are_unchanged():
    email = QueuedEmail("e1")
    email.queue("199001012015031001", MAIL, None)
    email.address("siti@example.go.id")
    email.fail("ConnectionRefusedError: [Errno 111]")
    email.sent()
    assert [(e.type_name(), set(e.to_data())) for e in email.pending] == [
        ("EmailQueued", {"to", "subject", "body", "template"}), ("EmailAddressed", {"to"}),
        ("EmailFailed", {"attempt", "error"}), ("EmailSent", set())]
    assert events.ContactRecorded("siti@example.go.id", "Siti").to_data() == {"email": "siti@example.go.id",
                                                                            "nama": "Siti"}


def test_an_email_waits_for_its_address_then_counts_its_attempts():
    email = QueuedEmail("e1")
    email.queue(None, MAIL, None)
    assert email.status == WAITING
    assert email.address("siti@example.go.id") and email.status == PENDING
    assert not email.address("other@example.go.id")  # addressed once
    email.fail("timeout")
    email.fail("x" * 900)
    assert email.attempts == 2 and len(email.pending[-1].error) == 500
    email.sent()
    assert email.status == SENT


def test_a_loaded_email_knows_whom_it_is_about():
    docs = [{"type": "EmailQueued", "version": 1, "nip": "199001012015031001",
             "data": {"to": "a@b.id", "subject": "s", "body": "b", "template": "t"}},
            {"type": "EmailFailed", "version": 2, "nip": "199001012015031001", "data": {"attempt": 1, "error": "e"}}]
    email = QueuedEmail.load("e1", docs)
    assert (email.nip, email.status, email.attempts, email.version) == ("199001012015031001", PENDING, 1, 2)


def test_giving_up_is_final_and_recorded_once():
    email = QueuedEmail("e1")
    email.queue("199001012015031001", MAIL, "enc:v1:0123456789abcdef:x")
    email.fail("timeout")
    assert email.give_up("recipient_erased") and email.status == GIVEN_UP
    assert not email.give_up("recipient_erased")  # once
    assert [e.type_name() for e in email.pending][-1] == "EmailGivenUp"
    assert email.pending[-1].to_data() == {"reason": "recipient_erased"}
    sent = QueuedEmail("e2")
    sent.queue(None, MAIL, "a@b.id")
    sent.sent()
    assert not sent.give_up("recipient_erased")  # a sent e-mail stays sent


def test_events_carrying_sealed_values_are_version_2():
    assert (events.ContactRecorded.SCHEMA_VERSION, events.EmailQueued.SCHEMA_VERSION,
            events.EmailAddressed.SCHEMA_VERSION) == (2, 2, 2)
    assert events.EmailFailed.SCHEMA_VERSION == events.EmailSent.SCHEMA_VERSION == 1
