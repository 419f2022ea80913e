"""Smoke: a nameko service with the shared Store, relay and an event consumer, on real infra."""
from nameko.events import event_handler
from nameko.rpc import rpc
from prometheus_client import REGISTRY

from pupns.dependencies import Store, consume_once
from pupns.eventstore import NewEvent
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy


class ProducerService:
    name = "smoke_producer"
    store = Store()

    @rpc
    def make(self, nip):
        self.store.append(f"x-{nip}", 0, [NewEvent("ThingMade", {"nip": nip})], nip=nip)
        return "ok"


class ConsumerService:
    name = "smoke_consumer"
    store = Store()

    @event_handler("smoke_producer", "ThingMade", requeue_on_error=True)
    def handle_thing_made(self, message):
        def apply(key):
            self.store.append(f"seen-{message['nip']}", 0, [NewEvent("ThingSeen", message["data"])],
                              nip=message["nip"], idempotency_key=key)
        consume_once(self.store, "handle_thing_made", message, apply)


def test_event_crosses_services(runner_factory, rabbit_config, store_for):
    runner = runner_factory(rabbit_config, ProducerService, ConsumerService)
    runner.start()
    with signed_proxy("smoke_producer", rabbit_config) as proxy:
        assert proxy.make("123") == "ok"
    consumer_store = store_for("smoke_consumer")
    wait_until(lambda: consumer_store.read_stream("seen-123"), message="consumer stored the event")
    assert [e["type"] for e in consumer_store.read_stream("seen-123")] == ["ThingSeen"]
    labels = {"service": "smoke_consumer", "consumer": "handle_thing_made"}
    wait_until(lambda: REGISTRY.get_sample_value("pupns_propagation_lag_seconds_count", labels) == 1,
               message="the consumer measured how long the event took to take effect")
    assert 0 < REGISTRY.get_sample_value("pupns_propagation_lag_seconds_sum", labels) < 30
