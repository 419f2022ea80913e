"""Smoke: a nameko service with the shared Store, relay and an event consumer, on real infra. The producer is the
library's test producer (`pupns.contracts.testing`): a relay publishes on the broker only the types some contract
says another service consumes."""
from nameko.events import event_handler
from nameko.rpc import rpc
from prometheus_client import REGISTRY

from pupns.contracts.testing import Pinged
from pupns.dependencies import Store, consume_once
from pupns.eventstore import NewEvent
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy


class ProducerService:
    name = Pinged.PRODUCER
    store = Store()

    @rpc
    def make(self, nip):
        self.store.append(f"x-{nip}", 0, [NewEvent(Pinged.TYPE, {"note": nip}), NewEvent("Unheard", {})], nip=nip)
        return "ok"


class ConsumerService:
    name = "smoke_consumer"
    store = Store()

    @event_handler(Pinged.PRODUCER, Pinged.TYPE, requeue_on_error=True)
    def handle_thing_made(self, message):
        def apply(key):
            self.store.append(f"seen-{message['nip']}", 0, [NewEvent("ThingSeen", message["data"])],
                              nip=message["nip"], idempotency_key=key)
        consume_once(self.store, "handle_thing_made", message, apply)


def test_event_crosses_services(runner_factory, rabbit_config, store_for):
    runner = runner_factory(rabbit_config, ProducerService, ConsumerService)
    runner.start()
    with signed_proxy(Pinged.PRODUCER, rabbit_config) as proxy:
        assert proxy.make("123") == "ok"
    consumer_store = store_for("smoke_consumer")
    wait_until(lambda: consumer_store.read_stream("seen-123"), message="consumer stored the event")
    assert [e["type"] for e in consumer_store.read_stream("seen-123")] == ["ThingSeen"]
    labels = {"service": "smoke_consumer", "consumer": "handle_thing_made"}
    wait_until(lambda: REGISTRY.get_sample_value("pupns_propagation_lag_seconds_count", labels) == 1,
               message="the consumer measured how long the event took to take effect")
    assert 0 < REGISTRY.get_sample_value("pupns_propagation_lag_seconds_sum", labels) < 30
