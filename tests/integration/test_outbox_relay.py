"""The outbox relay for events with the outbox flag (appended by a process without a relay): confirmed publish, then
mark; a crash in between re-publishes, never drops. A service process's own outbox (pupns.outbox): one record of
how far it published, a dead process's events published by a survivor from there."""
from __future__ import annotations

import json
import time

import pytest
from kombu import Connection, Exchange, Queue
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect

from pupns.dependencies import consume_once
from pupns.eventstore import ConcurrencyError, NewEvent
from pupns.outbox import DEAD_AFTER, DOUBT_SECONDS, ORIGINS
from pupns.relay import OutboxRelay
from tests.clock import Clock


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


def test_a_relay_told_which_types_others_consume_publishes_only_those_internally_and_marks_every_event(
        store_for, broker):
    uri, internal, public = broker
    store = store_for("relaytest")
    store.append("account-1", 0, [NewEvent("Registered", {}), NewEvent("Noted", {}), NewEvent("Approved", {})],
                 nip="1")
    relay = OutboxRelay(store, uri, "pupns.public", translator, internal_types=frozenset({"Registered"}))
    assert relay.publish_pending() == 3
    relay.close()
    assert [b["type"] for b in internal()] == ["Registered"]
    assert [b["type"] for b in public()] == ["pns.data_verified.v1"]  # public events do not depend on it
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


# -- a service process's own outbox --------------------------------------------------------------------------
def own_store(store_for, origin: str, clock: Clock):
    store = store_for("relaytest")
    store.own_outbox(origin, clock=clock)
    return store


def record(store) -> dict | None:
    return store.db[ORIGINS].find_one({"_id": store.outbox.origin})


def test_a_live_process_records_how_far_it_published_and_no_other_replica_takes_its_events(store_for, broker):
    uri, internal, _ = broker
    clock = Clock(time.time())
    store, other = own_store(store_for, "p1", clock), own_store(store_for, "p2", clock)
    relay, other_relay = OutboxRelay(store, uri, "pupns.public"), OutboxRelay(other, uri, "pupns.public")
    stored = [store.append(f"s-{n}", 0, [NewEvent("Happened", {"n": n})])[0] for n in range(3)]
    assert all("published" not in doc and doc["origin"] == "p1" for doc in stored)  # no outbox flag, no mark
    assert [relay.publish_fresh() for _ in range(3)] == [3, 0, 0]
    assert record(store)["through"] < stored[-1]["position"]  # not written yet: once per interval
    clock.now += 1
    relay.mark_due()
    assert record(store)["through"] == stored[-1]["position"] and store.unpublished() == []
    clock.now += DEAD_AFTER - 1  # alive: refreshed within DEAD_AFTER
    assert other_relay.publish_pending() == 0
    relay.close()
    other_relay.close()
    assert [b["data"]["n"] for b in internal()] == [0, 1, 2]  # each published once


def test_own_events_nobody_consumes_are_settled_like_the_rest_so_the_record_of_how_far_it_published_moves_on(
        store_for, broker):
    """A record stuck below them would make survivors take a live process's events for a dead one's."""
    uri, internal, _ = broker
    clock = Clock(time.time())
    store = own_store(store_for, "p1", clock)
    relay = OutboxRelay(store, uri, "pupns.public", internal_types=frozenset({"Wanted"}))
    stored = [store.append(f"s-{n}", 0, [NewEvent("Wanted" if n == 1 else "Unheard", {"n": n})])[0]
              for n in range(3)]
    assert relay.publish_fresh() == 3
    clock.now += 1
    relay.mark_due()
    relay.close()
    assert record(store)["through"] == stored[-1]["position"] and store.take_fresh() == []
    assert [b["data"]["n"] for b in internal()] == [1]


def test_a_dead_process_s_events_above_its_record_are_published_by_a_survivor_then_the_record_goes(
        store_for, broker):
    uri, internal, _ = broker
    clock = Clock(time.time())
    dead = own_store(store_for, "dead", clock)
    dead_relay = OutboxRelay(dead, uri, "pupns.public")
    dead.append("s-1", 0, [NewEvent("Published")])
    assert dead_relay.publish_fresh() == 1
    clock.now += 1
    dead_relay.mark_due()
    dead.append("s-2", 0, [NewEvent("Orphaned", {"n": 1})])
    dead.append("s-3", 0, [NewEvent("Orphaned", {"n": 2})])  # stored, answered, never published: then kill -9
    dead_relay.close()
    survivor = own_store(store_for, "survivor", clock)
    relay = OutboxRelay(survivor, uri, "pupns.public")
    assert relay.publish_pending() == 0  # not yet dead
    clock.now += DEAD_AFTER + 1
    adopted = REGISTRY.get_sample_value("pupns_outbox_adopted_events_total", {"service": "relaytest"}) or 0
    assert relay.publish_pending() == 2
    assert REGISTRY.get_sample_value("pupns_outbox_adopted_events_total", {"service": "relaytest"}) == adopted + 2
    assert relay.publish_pending() == 0 and record(dead) is None  # nothing left above it: retired
    relay.close()
    bodies = internal()
    assert [b["type"] for b in bodies] == ["Published", "Orphaned", "Orphaned"], bodies
    assert [b["data"].get("n") for b in bodies[1:]] == [1, 2]


def test_a_process_stopped_cleanly_leaves_no_record_one_with_events_unpublished_leaves_its_record(store_for):
    clock = Clock(time.time())
    clean, busy = own_store(store_for, "clean", clock), own_store(store_for, "busy", clock)
    busy.append("s-1", 0, [NewEvent("Happened")])  # never published
    clean.outbox.stop()
    busy.outbox.stop()
    assert record(clean) is None
    assert record(busy)["through"] < busy.read_stream("s-1")[0]["position"]


def test_a_failed_append_is_read_back_after_the_doubt_published_if_it_landed(store_for, broker, monkeypatch):
    """An insert the store committed but whose answer was lost (the client saw an error) is still published; one
    that did not land only holds `through` back until it is read back."""
    uri, internal, _ = broker
    clock = Clock(time.time())
    store = own_store(store_for, "p1", clock)
    relay = OutboxRelay(store, uri, "pupns.public")
    durable = store._events_durable
    insert = durable.insert_one

    def lost_answer(doc, *args, **kwargs):
        insert(doc, *args, **kwargs)
        raise AutoReconnect("connection closed after the commit")
    monkeypatch.setattr(durable, "insert_one", lost_answer)
    with pytest.raises(AutoReconnect):
        store.append("s-1", 0, [NewEvent("Landed")])
    monkeypatch.undo()
    with pytest.raises(ConcurrencyError):  # did not land
        store.append("s-1", 0, [NewEvent("Refused")])
    landed = store.read_stream("s-1")[0]["position"]
    assert relay.publish_pending() == 0 and store.outbox.through() == landed - 1
    clock.now += DOUBT_SECONDS
    landed_before = REGISTRY.get_sample_value("pupns_outbox_failed_appends_landed_total", {"service": "relaytest"})
    assert relay.publish_pending() == 1
    assert REGISTRY.get_sample_value("pupns_outbox_failed_appends_landed_total",
                                     {"service": "relaytest"}) == (landed_before or 0) + 1
    assert store.outbox.through() > landed  # both positions settled
    relay.close()
    assert [b["type"] for b in internal()] == ["Landed"]


def test_own_events_a_pass_could_not_publish_are_taken_again_by_the_next(store_for, broker):
    uri, internal, _ = broker
    store = own_store(store_for, "p1", Clock(time.time()))
    store.append("s-1", 0, [NewEvent("Waiting")])
    down = OutboxRelay(store, "amqp://guest:guest@127.0.0.1:1/", "pupns.public")
    assert down.publish_fresh() == 0
    live = OutboxRelay(store, uri, "pupns.public")
    assert live.publish_fresh() == 1
    live.close()
    assert [b["type"] for b in internal()] == ["Waiting"]


def test_own_events_beyond_what_memory_holds_are_read_back_from_the_store_in_order(store_for, broker):
    """A long broker outage: a process's unpublished events do not all stay in memory; its relay reads the rest
    back from the store, above its `through`, and publishes every one once, in order."""
    uri, internal, _ = broker
    store = own_store(store_for, "p1", Clock(time.time()))
    store.FRESH_MAX = 2
    for n in range(5):
        store.append(f"s-{n}", 0, [NewEvent("Happened", {"n": n})])
    assert store.outbox.spilled and len(store.take_fresh()) == 2
    relay = OutboxRelay(store, uri, "pupns.public")
    assert relay.publish_fresh() == 0  # nothing in memory any more: only the store knows the rest
    assert relay.publish_pending() == 5 and not store.outbox.spilled
    assert store.outbox.through() == store.read_stream("s-4")[0]["position"]
    relay.close()
    assert [b["data"]["n"] for b in internal()] == [0, 1, 2, 3, 4]


def test_a_stalled_process_taken_for_dead_writes_its_own_through_again_when_it_resumes(store_for, broker):
    """A survivor may move a stalled process's record past an event the process stored late; when the process
    resumes, its refresh puts its own figure back, so that event stays in reach if it then dies."""
    uri, _, _ = broker
    clock = Clock(time.time())
    stalled = own_store(store_for, "stalled", clock)
    doc = stalled.append("s-1", 0, [NewEvent("Late")])[0]
    clock.now += DEAD_AFTER + 1
    relay = OutboxRelay(own_store(store_for, "survivor", clock), uri, "pupns.public")
    assert relay.publish_pending() == 1
    relay.close()
    assert record(stalled)["through"] == doc["position"]
    stalled.outbox.beat(force=True)  # resumed: it has not published the event itself yet
    assert record(stalled)["through"] == doc["position"] - 1
