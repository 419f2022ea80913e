"""nameko DependencyProviders shared by every service: the event store and its relay."""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from nameko.extensions import DependencyProvider
from prometheus_client import Histogram
from pymongo import MongoClient

from pupns import config
from pupns.eventstore import AlreadyApplied, EventStore
from pupns.polling import PollBackoff
from pupns.relay import OutboxRelay, Translator
from pupns.sequence import Sequencer

log = logging.getLogger(__name__)

RELAY_IDLE_SECONDS = 0.5
RELAY_SCAN_SECONDS = 2.0  # the outbox scan only catches what a dead process stored: each worker publishes its own
RELAY_MARK_SECONDS = 1.0  # what was published is recorded in one write per interval (pupns.relay, pupns.outbox)
SEQUENCE_SECONDS = (1.0, 8.0)  # the sequencer's pass after finding events, and its slowest pass when idle
PROPAGATION_LAG = Histogram(
    "pupns_propagation_lag_seconds", "From an event's occurred_at to its effect stored by a consumer",
    ("service", "consumer"), buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
T = TypeVar("T")
# A consumed message whose effect could not be stored goes back to its queue and is redelivered at once:
# pause first, so it is retried a few times a second instead of in a loop that burns a core and floods the
# log (a kill -9 of a consumer mid-transaction leaves that transaction holding the stream until the store
# aborts it, about 60 s later: the redelivered message conflicts until then).
REQUEUE_PAUSE_SECONDS = 0.5


class Store(DependencyProvider):
    """Gives each worker the service's EventStore; owns the MongoClient and the outbox relay."""

    def __init__(self, translator: Translator | None = None, setup_hook: Callable | None = None):
        self.translator = translator
        self.setup_hook = setup_hook
        self.client: MongoClient | None = None
        self.store: EventStore | None = None
        self.relay: OutboxRelay | None = None
        self._running = False

    def setup(self) -> None:
        service = self.container.service_name
        config.require_production_secrets(service)
        self.client = MongoClient(config.mongo_uri(service), serverSelectionTimeoutMS=5000, tz_aware=True)
        self.store = EventStore(self.client[config.mongo_db(service)], service)
        self.store.ensure_indexes()
        Sequencer.ensure_indexes(self.store)
        self.store.own_outbox(f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if self.setup_hook:
            self.setup_hook(self.store)
        uri = self.container.config.get("AMQP_URI", config.amqp_uri())
        from pupns.contracts import consumed_types  # pupns.contracts consumes through this module

        self.relay = OutboxRelay(self.store, uri, config.public_exchange(), self.translator,
                                 self.container.config, mark_after=RELAY_MARK_SECONDS,
                                 internal_types=consumed_types(service))

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")
        self.container.spawn_managed_thread(self._sequence_loop, identifier="sequencer")

    def _relay_loop(self) -> None:
        import eventlet  # the relay loop cooperates with nameko's green threads

        scanned_at = 0.0
        while self._running:
            if time.monotonic() - scanned_at >= RELAY_SCAN_SECONDS:
                scanned_at = time.monotonic()
                published = self.relay.publish_pending()
            else:  # what this process stored and no worker published (a drain was running): no query
                published = self.relay.publish_fresh()
            try:
                self.relay.mark_due()
            except Exception:
                log.exception("marking published events failed; will retry")
            if not published:
                eventlet.sleep(RELAY_IDLE_SECONDS)

    def _sequence_loop(self) -> None:
        import eventlet

        sequencer, backoff = None, PollBackoff(*SEQUENCE_SECONDS)
        while self._running:
            try:
                sequencer = sequencer or Sequencer(self.store)
                found = sequencer.run_once()
                # Another replica's sequencer is at work: let it lead, look again only at the slowest pace.
                wait = SEQUENCE_SECONDS[1] if sequencer.lost else backoff.found(found > 0)
            except Exception:
                log.exception("sequencing events failed; will retry")
                sequencer, wait = None, SEQUENCE_SECONDS[1]  # start again from the stored blocks
            eventlet.sleep(wait)

    def stop(self) -> None:
        self._running = False
        if self.relay:
            try:
                self.relay.publish_fresh()
                self.relay.mark_due(force=True)
                self.store.outbox.stop()
            except Exception:  # re-published by the next scan at worst
                log.exception("recording published events at stop failed")
            self.relay.close()
        if self.client:
            self.client.close()

    def get_dependency(self, worker_ctx) -> EventStore:
        return self.store

    def worker_teardown(self, worker_ctx) -> None:
        # Publish what this worker stored right away (no query when it stored nothing); the relay loop's
        # outbox scan catches the rest.
        if self.relay:
            self.relay.publish_fresh()


class RetiredQueues(DependencyProvider):
    """Deletes, at start, the durable queues of event handlers a service no longer has: left bound to their
    exchange, they would keep every matching event for ever."""

    def __init__(self, *names: str):
        self.names = names

    def setup(self) -> None:
        from kombu import Connection

        with Connection(self.container.config.get("AMQP_URI", config.amqp_uri()), connect_timeout=5) as conn:
            channel = conn.channel()
            for name in self.names:
                channel.queue_delete(name)  # a queue that is not there is not an error
            channel.close()


class Config(DependencyProvider):
    """A service's Settings, built once when its container starts (`factory` is e.g. `Settings.from_env`)."""

    def __init__(self, factory: Callable[[], object]):
        self.factory = factory
        self.settings: object = None

    def setup(self) -> None:
        self.settings = self.factory()

    def get_dependency(self, worker_ctx) -> object:
        return self.settings


def consume_once(store: EventStore, handler: str, message: dict, apply: Callable[[str], None]) -> bool:
    """Run `apply(idempotency_key)` for a consumed message; False when it had been applied before.

    `apply` must pass the key to `store.append(..., idempotency_key=key)` (or `store.remember(key, ...)` when there
    is nothing to append) so the effect and the dedupe record commit together; a repeat is found by that key inside
    the transaction (AlreadyApplied), not by a read before it: repeats are rare, and every message would pay for the
    read. The broker message is acked only after this returns.
    """
    key = f"{handler}:{message['event_id']}"
    if message.get("stream") is not None:
        store.consuming(key, {"stream": message["stream"], "version": message.get("version")})
    try:
        pause_before_requeue(apply, key)
    except AlreadyApplied:
        return False
    finally:
        store.consumed(key)
    observe_lag(store.service, handler, message)
    return True


def observe_lag(service: str, consumer: str, message: dict) -> None:
    """Record how long after the event occurred its effect here was stored (SPEC: bounded propagation lag)."""
    try:
        occurred = datetime.fromisoformat(message["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return
    PROPAGATION_LAG.labels(service, consumer).observe(max(0.0, (datetime.now(UTC) - occurred).total_seconds()))


def pause_before_requeue(apply: Callable[..., T], *args: object) -> T:
    """Run a consumer's effect; if it fails, wait a moment before the message goes back to its queue."""
    try:
        return apply(*args)
    except AlreadyApplied:
        raise
    except Exception:
        time.sleep(REQUEUE_PAUSE_SECONDS)  # green under nameko: only this worker waits
        raise
