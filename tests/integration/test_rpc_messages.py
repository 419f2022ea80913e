"""RPC requests and replies travel transient (pupns.rpc_messages): nothing of a call is written to the broker's disk,
while the call itself works as before, refusals included."""
from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Exchange, Queue
from kombu.entity import TRANSIENT_DELIVERY_MODE

from pupns import callers, deadlines
from pupns.deadlines import rpc
from pupns.errors import AppError
from pupns.rpc_client import RpcBackend
from pupns_dev.waiting import wait_until

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


class EchoService:
    """Answers what it is given."""

    name = "transient_probe"

    @rpc
    def echo(self, text: str) -> str:
        return text


def test_a_request_is_published_transient_and_carries_its_deadline(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    with Connection(uri) as conn:
        # Stands in for the queue of a service that is down: the request waits there.
        tap = Queue(f"tap-{uuid.uuid4().hex[:8]}", RPC_EXCHANGE, routing_key="absent_probe.*", auto_delete=True)
        tap(conn.default_channel).declare()
        with pytest.raises(AppError) as err:  # nobody answers: the caller's deadline ends the wait
            RpcBackend(uri, timeout=0.5).call("absent_probe", "anything", 1)
        assert err.value.code == "unavailable"
        message = wait_until(lambda: tap(conn.default_channel).get(no_ack=True), message="the request reached the tap")
    assert message.properties["delivery_mode"] == TRANSIENT_DELIVERY_MODE
    assert message.delivery_info["routing_key"] == "absent_probe.anything"
    assert float(message.headers[deadlines.HEADER]) > 0
    assert message.payload == {"args": [1], "kwargs": {}}


def test_a_reply_and_a_refusal_come_back_transient(runner_factory, rabbit_config):
    runner = runner_factory(rabbit_config, EchoService)
    runner.start()
    uri = rabbit_config["AMQP_URI"]
    assert RpcBackend(uri, timeout=10).call("transient_probe", "echo", "halo") == "halo"  # the platform's own client
    with Connection(uri) as conn:
        replies = Queue(f"replies-{uuid.uuid4().hex[:8]}", RPC_EXCHANGE, routing_key=f"reply-{uuid.uuid4().hex}",
                        auto_delete=True)
        replies(conn.default_channel).declare()
        producer = conn.Producer(serializer="json")
        signed = {callers.HEADER: callers.token("edge", None, "transient_probe.echo")}
        for correlation_id, headers in (("signed", signed), ("unsigned", {})):
            producer.publish({"args": ["apa kabar"], "kwargs": {}}, exchange=RPC_EXCHANGE,
                             routing_key="transient_probe.echo", reply_to=replies.routing_key,
                             correlation_id=correlation_id, headers=headers)
        got = {}
        wait_until(lambda: _collect(replies(conn.default_channel), got) == 2, message="both calls were answered")
    assert got["signed"].payload == {"result": "apa kabar", "error": None}
    assert got["unsigned"].payload["error"]["exc_type"] == "AppError"  # refused: no caller token
    assert {m.properties["delivery_mode"] for m in got.values()} == {TRANSIENT_DELIVERY_MODE}


def _collect(queue: Queue, got: dict) -> int:
    message = queue.get(no_ack=True)
    if message is not None:
        got[message.properties["correlation_id"]] = message
    return len(got)
