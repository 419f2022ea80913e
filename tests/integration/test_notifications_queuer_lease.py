"""An e-mail queued with its address is tried at once by the worker that queued it, without claiming its outbox row:
the row is leased to that worker from the start (one store operation less per e-mail), and if the worker dies
before the SMTP hand-off the retry loop takes the e-mail when the lease runs out (issue 9). A registration's e-mail
goes further: it is tried before anything is stored, and lands with its outcome and the contact in one transaction."""
from __future__ import annotations

import time
import uuid

import pytest

from notifications.adapters.projections import MAIL_LEASE_SECONDS, Projector
from notifications.commands import Notifications
from notifications.settings import Settings
from pupns.contracts.identity import RegistrationSubmitted
from pupns.contracts.verification import RegistrationConfirmed
from pupns.eventstore import AlreadyApplied
from pupns.personal.provider import default_codec
from tests.factories import fresh_nip
from tests.integration.test_notifications_email import registration_submitted, upstream


class SenderThatDies:
    """The process dies between the append of EmailQueued and the SMTP hand-off."""

    def send(self, to, subject, body, message_id):
        raise SystemExit("killed")


class Recorder:
    def __init__(self):
        self.sent: list[str] = []

    def send(self, to, subject, body, message_id):
        self.sent.append(to)


@pytest.fixture
def store(store_for):
    store = store_for("notifications")
    Projector.ensure_indexes(store.db)
    return store


def received(message: dict) -> RegistrationSubmitted:
    return RegistrationSubmitted.from_message(message)


def confirmation(nip: str) -> RegistrationConfirmed:
    """A verifier's confirmation of `nip`, as notifications receives it."""
    message = {**upstream("RegistrationConfirmed", nip, RegistrationConfirmed.EXAMPLE),
               "schema_version": RegistrationConfirmed.VERSION}
    return RegistrationConfirmed.from_message(message)


def test_the_queuer_sends_without_a_claim_and_a_dead_queuer_s_mail_is_retried_after_its_lease(store):
    nip, address = fresh_nip(), f"siti.{uuid.uuid4().hex[:6]}@example.go.id"
    settings = Settings.from_env()
    registered = registration_submitted(nip, address)
    Notifications(store, Recorder(), settings, default_codec()).on_registration_submitted(
        received(registered), f"test:{registered['event_id']}")  # the contact is known
    dying = Notifications(store, SenderThatDies(), settings, default_codec())
    decision = confirmation(nip)
    claims: list[str] = []
    claim = dying.read.mail_queue.claim
    dying.read.mail_queue.claim = lambda *args, **kwargs: (claims.append(args[0]), claim(*args, **kwargs))[1]
    with pytest.raises(SystemExit):
        dying.on_verification_event(decision, f"test:{decision.event_id}")
    assert claims == []  # it went straight to the SMTP hand-off
    row = store.db["emails"].find_one({"_id": decision.event_id})
    assert row["status"] == "pending" and row["lease_until"] > time.time()

    recorder = Recorder()
    survivor = Notifications(store, recorder, settings, default_codec())
    assert survivor.read.mail_queue.due_ids(10) == []  # held by the dead worker for now
    assert survivor.read.mail_queue.due_ids(10, now=time.time() + MAIL_LEASE_SECONDS + 1) == [decision.event_id]
    store.db["emails"].update_one({"_id": decision.event_id}, {"$set": {"lease_until": 0.0}})  # time passes
    assert survivor.deliver_due() == 1 and recorder.sent == [address]
    assert store.db["emails"].find_one({"_id": decision.event_id})["status"] == "sent"


def test_a_registration_s_mail_is_tried_first_then_stored_with_its_outcome_and_the_contact_in_one_append(store):
    nip, address = fresh_nip(), f"siti.{uuid.uuid4().hex[:6]}@example.go.id"
    settings = Settings.from_env()
    message = registration_submitted(nip, address)
    key = f"test:{message['event_id']}"
    with pytest.raises(SystemExit):  # the worker dies at the hand-off: nothing is stored, the broker redelivers
        Notifications(store, SenderThatDies(), settings, default_codec()).on_registration_submitted(
            received(message), key)
    assert store.read_stream(f"email-{message['event_id']}") == [] and store.recall(key) is None

    recorder = Recorder()
    app = Notifications(store, recorder, settings, default_codec())
    appends: list[int] = []
    append_many = store.append_many
    store.append_many = lambda parts, *args, **kwargs: (appends.append(len(parts)), append_many(parts, *args,
                                                                                                **kwargs))[1]
    rows = f"{store.db.name}.emails"
    updates = lambda: store.db.client.admin.command("top")["totals"].get(rows, {}).get("update", {}).get("count", 0)  # noqa: E731
    updated = updates()
    app.on_registration_submitted(received(message), key)
    assert recorder.sent == [address] and appends == [2]  # one transaction: the e-mail's stream and the contact's
    assert updates() - updated == 1  # its row written once for both of its events
    emails = store.read_stream(f"email-{message['event_id']}")
    assert [e["type"] for e in emails] == ["EmailQueued", "EmailSent"]
    assert [e["type"] for e in store.read_stream(f"contact-{nip}")] == ["ContactRecorded"]
    row = store.db["emails"].find_one({"_id": message["event_id"]})
    assert row["status"] == "sent" and row["sent_at"] == emails[0]["meta"]["occurred_at"]

    with pytest.raises(AlreadyApplied):  # published again: found before anything is sent
        app.on_registration_submitted(received(message), key)
    assert recorder.sent == [address] and appends == [2]


def test_the_retry_loop_finds_waiting_and_due_e_mails_by_an_index_not_by_reading_every_e_mail_sent(store):
    # What the loop asks on every pass (ReadModels.waiting_emails, RetryQueue.due_ids) leads with `status`.
    keys = [list(index["key"]) for index in store.db["emails"].index_information().values()]
    assert [("status", 1), ("next_attempt_at", 1)] in keys
    store.db["emails"].insert_many([{"_id": uuid.uuid4().hex, "status": "sent", "next_attempt_at": 0.0}
                                    for _ in range(50)])
    plan = store.db["emails"].find({"status": "waiting_contact"}).limit(100).explain()["queryPlanner"]["winningPlan"]
    assert "IXSCAN" in str(plan) and "COLLSCAN" not in str(plan)


def test_a_decision_that_overtook_the_registration_is_sent_once_the_registration_records_the_contact(store):
    nip, address = fresh_nip(), f"siti.{uuid.uuid4().hex[:6]}@example.go.id"
    recorder = Recorder()
    app = Notifications(store, recorder, Settings.from_env(), default_codec())
    confirmed = confirmation(nip)
    app.on_verification_event(confirmed, f"test:{confirmed.event_id}")
    waiting = store.db["emails"].find_one({"_id": confirmed.event_id})
    assert recorder.sent == [] and waiting["status"] == "waiting_contact"
    registered = registration_submitted(nip, address)
    app.on_registration_submitted(received(registered), f"test:{registered['event_id']}")
    assert recorder.sent == [address, address]  # no pass of the retry loop needed
    assert store.db["emails"].find_one({"_id": confirmed.event_id})["status"] == "sent"


def test_a_registration_recorded_while_the_decision_is_being_queued_still_gets_the_decision_sent(store):
    """The decision reads no contact; before it queues its e-mail, the registration records the contact (and sees no
    waiting e-mail yet). The decision's second look at the contact sends it, with no pass of the retry loop."""
    nip, address = fresh_nip(), f"siti.{uuid.uuid4().hex[:6]}@example.go.id"
    recorder = Recorder()
    app = Notifications(store, recorder, Settings.from_env(), default_codec())
    registered = registration_submitted(nip, address)
    contact, looks = app.read.contact, []

    def contact_while_registering(wanted: str):
        looks.append(wanted)
        if len(looks) == 1:  # the decision's first look: the registration lands right after it
            found = contact(wanted)
            app.on_registration_submitted(received(registered), f"test:{registered['event_id']}")
            return found
        return contact(wanted)
    app.read.contact = contact_while_registering
    decision = confirmation(nip)
    app.on_verification_event(decision, f"test:{decision.event_id}")
    assert recorder.sent == [address, address]
    assert store.db["emails"].find_one({"_id": decision.event_id})["status"] == "sent"
    assert app.waiting_here == set()


def test_a_registration_asks_the_store_for_waiting_e_mails_only_when_this_process_queued_one(store):
    """A registration no decision overtook (nearly all) makes no query for waiting e-mails; a decision queued waiting
    by another replica is addressed by the retry loop's pass instead."""
    nip, address = fresh_nip(), f"budi.{uuid.uuid4().hex[:6]}@example.go.id"
    settings = Settings.from_env()
    decided_here, recorder = Notifications(store, Recorder(), settings, default_codec()), Recorder()
    registered_here = Notifications(store, recorder, settings, default_codec())
    asked: list[str | None] = []
    waiting = registered_here.read.waiting_emails
    registered_here.read.waiting_emails = lambda wanted=None, **kw: (asked.append(wanted), waiting(wanted, **kw))[1]
    decision = confirmation(nip)
    decided_here.on_verification_event(decision, f"test:{decision.event_id}")
    assert decided_here.waiting_here == {nip}
    registered = registration_submitted(nip, address)
    registered_here.on_registration_submitted(received(registered), f"test:{registered['event_id']}")
    assert asked == [] and recorder.sent == [address]
    assert store.db["emails"].find_one({"_id": decision.event_id})["status"] == "waiting_contact"
    registered_here.deliver_due()  # the retry loop's pass
    assert asked == [None] and recorder.sent == [address, address]
    assert store.db["emails"].find_one({"_id": decision.event_id})["status"] == "sent"


def test_the_service_s_notifications_of_every_message_share_the_process_s_waiting_notes(store):
    """The service makes a Notifications per message: a decision's note must reach the registration's message."""
    from types import SimpleNamespace

    from notifications.service import NotificationsService

    service = SimpleNamespace(store=store, settings=Settings.from_env(), personal=default_codec())
    decided, registering = (NotificationsService.app.fget(service) for _ in range(2))
    nip = fresh_nip()
    decision = confirmation(nip)
    decided.on_verification_event(decision, f"test:{decision.event_id}")
    assert nip in registering.waiting_here
    registering.waiting_here.discard(nip)
