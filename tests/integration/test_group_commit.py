"""Group commit against the real MongoDB-compatible server, and notifications' e-mail outcomes recorded with it."""
from __future__ import annotations

import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from notifications.service import NotificationsService
from pupns.dependencies import Store
from pupns.eventstore import NewEvent, StreamAppend
from pupns.group_commit import GroupCommit
from pupns.repository import Repository
from pupns_dev.processes import free_port, start_smtp_sink, stop
from pupns_dev.waiting import wait_until
from tests.integration.test_notifications_email import mails_to, new_nip, registration_submitted


@pytest.fixture
def store(store_for):
    return store_for("groupcommit")


class Projected:
    """A projection that counts, per stream, the events it was handed (in the append's transaction)."""

    def __init__(self, db):
        self.db = db

    def apply(self, docs, session):
        for doc in docs:
            self.db["projected"].update_one({"_id": doc["stream"]}, {"$inc": {"n": 1}}, upsert=True, session=session)


def part(stream: str, version: int, kind: str = "Happened", **meta) -> StreamAppend:
    return StreamAppend(stream, version, [NewEvent(kind, {"k": kind})], nip="198001012005011001", meta=meta or None)


def test_parts_gathered_commit_in_one_transaction_each_with_its_own_meta(store):
    batch, streams = GroupCommit(store), [f"g-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for stream in streams:
        batch.add(part(stream, 0, correlation_id=stream), Projected(store.db).apply, on_conflict=pytest.fail)
    assert store.events.count_documents({"stream": {"$in": streams}}) == 0  # nothing before the flush
    assert batch.flush() == 5 and batch.pending() == 0
    docs = list(store.events.find({"stream": {"$in": streams}}).sort("position", 1))
    assert [d["stream"] for d in docs] == streams  # in the order they were gathered
    assert len({d["meta"]["occurred_at"] for d in docs}) == 1  # one transaction
    assert [d["position"] for d in docs] == list(range(docs[0]["position"], docs[0]["position"] + 5))
    assert [d["meta"]["correlation_id"] for d in docs] == streams
    assert {row["_id"]: row["n"] for row in store.db["projected"].find({"_id": {"$in": streams}})} == \
        dict.fromkeys(streams, 1)


def test_a_stream_that_moved_is_decided_again_and_the_others_commit(store):
    moved, calm = f"g-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    store.append(moved, 0, [NewEvent("Opened")])
    store.append(calm, 0, [NewEvent("Opened")])
    batch, again = GroupCommit(store), []
    batch.add(part(moved, 0), None, on_conflict=lambda: again.append(moved))  # read before "Opened": stale
    batch.add(part(calm, 1), None, on_conflict=lambda: again.append(calm))
    assert batch.flush() == 1
    assert again == [moved]
    assert [e["type"] for e in store.read_stream(calm)] == ["Opened", "Happened"]
    assert [e["type"] for e in store.read_stream(moved)] == ["Opened"]


def test_two_parts_of_one_stream_go_in_successive_transactions_in_order(store):
    stream, batch = f"g-{uuid.uuid4().hex[:8]}", GroupCommit(store)
    batch.add(part(stream, 0, "First"), None, on_conflict=pytest.fail)
    batch.add(part(stream, 1, "Second"), None, on_conflict=pytest.fail)
    assert batch.flush() == 2
    assert [e["type"] for e in store.read_stream(stream)] == ["First", "Second"]


def test_a_batch_that_fails_on_the_store_waits_for_the_next_flush(store, monkeypatch):
    stream, batch = f"g-{uuid.uuid4().hex[:8]}", GroupCommit(store)
    batch.add(part(stream, 0), None, on_conflict=pytest.fail)
    monkeypatch.setattr(store, "append_many", lambda *a, **k: (_ for _ in ()).throw(OSError("store away")))
    with pytest.raises(OSError):
        batch.flush()
    assert batch.pending() == 1
    monkeypatch.undo()
    assert batch.flush() == 1 and store.stream_version(stream) == 1


def test_save_later_without_a_group_commit_stores_at_once(store):
    from notifications.domain.email import QueuedEmail, stream_of
    from notifications.domain.templates import Email

    emails = Repository(store, QueuedEmail, stream_of)
    email = QueuedEmail(uuid.uuid4().hex)
    email.queue("198001012005011001", Email("uji", "Subjek", "Isi"), None)
    emails.save_later(email, {"actor": "system"}, on_conflict=pytest.fail)
    assert [e["type"] for e in store.read_stream(stream_of(email.id))] == ["EmailQueued"]


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    port, maildir = free_port(), tmp_path / "mail"
    monkeypatch.setenv("PUPNS_SMTP_PORT", str(port))
    proc = start_smtp_sink(port, maildir, tmp_path / "smtp.log")
    yield maildir
    stop(proc)


def test_outcomes_gathered_when_the_service_stops_are_stored_before_it_closes(runner_factory, rabbit_config, smtp,
                                                                             store_for, monkeypatch):
    monkeypatch.setattr(Store, "_group_commit_loop", lambda self: None)  # no flush by time: only the stop's
    runner = runner_factory(rabbit_config, NotificationsService)
    runner.start()
    messages = [registration_submitted(new_nip(), f"g.{uuid.uuid4().hex[:6]}@example.go.id") for _ in range(3)]
    send = event_dispatcher(rabbit_config)
    for message in messages:
        send("identity", "RegistrationSubmitted", message)
    wait_until(lambda: all(mails_to(smtp, m["data"]["email"]) for m in messages), message="three receipts sent")
    store = store_for("notifications")
    assert store.events.count_documents({"type": "EmailSent", "nip": {"$in": [m["nip"] for m in messages]}}) == 0
    runner.stop()  # outcomes still gathered are committed by the store's stop, before its client closes
    for message in messages:
        sent = [e for e in store.read_stream(f"email-{message['event_id']}") if e["type"] == "EmailSent"]
        assert len(sent) == 1 and sent[0]["meta"]["correlation_id"] == message["event_id"]
        assert store.db["emails"].find_one({"_id": message["event_id"]})["status"] == "sent"
