"""The outbox relay: confirmed publish, then mark; a crash in between re-publishes, never drops."""
from __future__ import annotations

import json

import pytest
from kombu import Connection, Exchange, Queue

from pupns.dependencies import consume_once
from pupns.eventstore import NewEvent
from pupns.relay import OutboxRelay


@pytest.fixture
def broker(rabbit_config):
    """A connection to this test's vhost and a queue bound to the relay's exchanges."""
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        channel = conn.channel()
        internal = Queue("t-internal", Exchange("relaytest.events", type="topic", durable=True),
                         routing_key="#", channel=channel)
        public = Queue("t-public", Exchange("pupns.public", type="topic", durable=True),
                       routing_key="pns.#", channel=channel)
        internal.declare()
        public.declare()

        def drain(queue: Queue) -> list[dict]:
            bodies = []
            while (message := queue.get(no_ack=True)) is not None:
                bodies.append(json.loads(message.body))
            return bodies
        yield rabbit_config["AMQP_URI"], lambda: drain(internal), lambda: drain(public)
        channel.close()


def translator(doc: dict):
    if doc["type"] == "Approved":
        yield "pns.data_verified.v1", {"event_id": doc["_id"], "type": "pns.data_verified.v1", "nip": doc["nip"]}


def test_relay_publishes_in_order_with_secrets_removed_then_marks(store_for, broker):
    uri, internal, public = broker
    store = store_for("relaytest")
    store.append("account-1", 0, [NewEvent("Registered", {"email": "a@b.id", "password_hash": "scrypt$x"}),
                                  NewEvent("Approved", {})], nip="1")
    relay = OutboxRelay(store, uri, "pupns.public", translator)
    assert relay.publish_pending() == 2
    relay.close()
    bodies = internal()
    assert [b["type"] for b in bodies] == ["Registered", "Approved"]
    assert "password_hash" not in bodies[0]["data"] and bodies[0]["data"]["email"] == "a@b.id"
    assert [b["type"] for b in public()] == ["pns.data_verified.v1"]
    assert store.unpublished() == []


def test_crash_between_confirm_and_mark_republishes_and_consumer_dedupes(store_for, broker, monkeypatch):
    uri, internal, _ = broker
    store = store_for("relaytest")
    store.append("s-1", 0, [NewEvent("Happened", {"n": 1})], nip="1")
    relay = OutboxRelay(store, uri, "pupns.public")

    def crash(ids):
        raise RuntimeError("process killed before marking")
    monkeypatch.setattr(store, "mark_published", crash)
    relay.publish_pending()
    assert len(store.unpublished()) == 1  # confirmed by the broker, not yet marked
    monkeypatch.undo()
    assert relay.publish_pending() == 1
    relay.close()
    deliveries = internal()
    assert len(deliveries) == 2 and deliveries[0]["event_id"] == deliveries[1]["event_id"]

    consumer = store_for("relayconsumer")
    for message in deliveries:
        consume_once(consumer, "handle_happened", message, lambda key, m=message: consumer.append(
            "seen-1", 0, [NewEvent("Seen", m["data"])], idempotency_key=key))
    assert len(consumer.read_stream("seen-1")) == 1


def test_broker_down_keeps_events_in_the_outbox(store_for, broker):
    uri, internal, _ = broker
    store = store_for("relaytest")
    store.append("s-2", 0, [NewEvent("Waiting")])
    dead = OutboxRelay(store, "amqp://guest:guest@127.0.0.1:1/", "pupns.public")
    assert dead.publish_pending() == 0
    assert len(store.unpublished()) == 1
    live = OutboxRelay(store, uri, "pupns.public")
    assert live.publish_pending() == 1
    live.close()
    assert [b["type"] for b in internal()] == ["Waiting"]


def test_deferred_marking_writes_once_per_interval_and_the_scan_leaves_a_live_process_s_events_alone(
        store_for, broker):
    """With `mark_after`, what a live process published is marked later in one write; meanwhile no outbox scan
    (its own or another replica's) re-publishes it, and a forced mark (stopping) leaves nothing unmarked."""
    uri, internal, _ = broker
    store = store_for("relaytest")
    store.track_fresh()
    relay = OutboxRelay(store, uri, "pupns.public", mark_after=3600)
    other_replica = OutboxRelay(store, uri, "pupns.public", mark_after=3600)
    marks: list[list[str]] = []
    original = store.mark_published
    store.mark_published = lambda ids: (marks.append(list(ids)), original(ids))
    for n in range(3):
        store.append(f"s-{n}", 0, [NewEvent("Happened", {"n": n})])
        assert relay.publish_fresh() == 1
    assert marks == [] and len(store.unpublished()) == 3  # published, not yet marked
    assert relay.publish_pending() == 0 and other_replica.publish_pending() == 0  # still settling: left alone
    relay.mark_due(force=True)
    assert len(marks) == 1 and len(marks[0]) == 3 and store.unpublished() == []
    relay.close()
    other_replica.close()
    assert [b["data"]["n"] for b in internal()] == [0, 1, 2]  # each published once


def test_a_dead_process_s_unmarked_events_are_republished_once_settled(store_for, broker):
    uri, internal, _ = broker
    store = store_for("relaytest")
    store.append("s-9", 0, [NewEvent("Orphaned")])
    survivor = OutboxRelay(store, uri, "pupns.public", mark_after=0.01)  # settles after 2.03 s
    assert survivor.publish_pending() == 0
    from pupns_dev.waiting import wait_until
    wait_until(lambda: survivor.publish_pending() == 1, timeout=10, interval=0.2, message="orphan re-published")
    survivor.mark_due(force=True)
    survivor.close()
    assert [b["type"] for b in internal()] == ["Orphaned"] and store.unpublished() == []
