"""How RPC requests and replies travel: transient and unconfirmed, unlike events.

An RPC caller (the edge, the console) waits for its reply with a deadline and, past it, answers 503 and forgets
the call; the service skips a request whose deadline has passed (pupns.deadlines). So neither message is worth
what nameko spends on it by default: a persistent request in the service's durable queue is written to the
broker's disk, and both the request and the reply wait for the broker's publisher confirm. A request lost with
the broker costs its caller a timeout, exactly like one the service never answered; one that survived a broker
restart would only be skipped as expired. Measured with bench.write_load's paired runs (2 vCPU, every process on
both cores, 2026-12-05): RabbitMQ's CPU per read 0.9-1.0 -> 0.5-0.6 ms and per section save 1.4-1.7 -> 0.9-1.0 ms;
reads/s at capacity 462-486 -> 557-570.

Events are another matter: the outbox relay (pupns.relay) publishes them persistent and confirmed, because
nobody waits for them and they must not be lost.

Without confirms a request to a service whose queue was never declared is not returned at once as nameko's
UnknownService; its caller times out instead (its deadline, PUPNS_RPC_TIMEOUT) and answers 503 as it would for
a service that is down.
"""
from __future__ import annotations

from typing import Any

from kombu.entity import TRANSIENT_DELIVERY_MODE
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.rpc import MethodProxy, Responder, RpcConsumer, ServiceProxy, get_rpc_exchange


class TransientPublisher(Publisher):
    """nameko's publisher for RPC messages: not persisted, not confirmed, never `mandatory` (a returned message is
    only noticed while waiting for a confirm)."""

    use_confirms = False
    delivery_mode = TRANSIENT_DELIVERY_MODE

    def publish(self, payload: Any, **kwargs: Any) -> None:
        kwargs["mandatory"] = False
        super().publish(payload, **kwargs)


class TransientMethodProxy(MethodProxy):
    """A caller's method proxy whose requests are transient (nameko's MethodProxy otherwise)."""

    publisher_cls = TransientPublisher


class TransientServiceProxy(ServiceProxy):
    """A caller's service proxy handing out TransientMethodProxy."""

    def __getattr__(self, name: str) -> TransientMethodProxy:
        if name.startswith("__"):
            raise AttributeError(name)
        return TransientMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class TransientResponder(Responder):
    """A service's reply, transient and unconfirmed."""

    publisher_cls = TransientPublisher


class TransientRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, replying through TransientResponder (the rest as nameko's)."""

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        config = self.container.config
        responder = TransientResponder(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                                       config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                                       ssl=config.get(AMQP_SSL_CONFIG_KEY),
                                       login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info
