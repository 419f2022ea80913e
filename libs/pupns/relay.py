"""Outbox relay: publishes stored events to RabbitMQ with publisher confirms, then marks them.

A crash between the broker's confirm and `mark_published` re-publishes on the next pass
(at-least-once); consumers dedupe by event id. Nothing stored is ever dropped.

Marking may be deferred (`mark_after` seconds): the ids published meanwhile are marked in one write, so a
busy service pays one store write per interval instead of one per worker. Until then they look unpublished
in the store, so the outbox scan leaves alone what is younger than `settle_seconds`: the events of a
process that is alive are marked by it; only those of a process that died are scanned and re-published.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from kombu import Connection, Exchange, Producer
from nameko.standalone.events import get_event_exchange

from pupns.eventstore import EventStore
from pupns.redaction import redact

log = logging.getLogger(__name__)

# A translator turns one stored internal event into zero or more public events
# (routing_key, payload) for the `pupns.public` exchange.
Translator = Callable[[dict], Iterable[tuple[str, dict]]]


# Public event ids are uuid5(stored id : routing key): stable across re-publication, so subscribers dedupe.
PUBLIC_NAMESPACE = uuid.UUID("6f1c1f8e-3d0a-4b8e-9a51-7c1d2b0e5a10")


def public_event_id(stored_id: str, routing_key: str) -> str:
    """The id a subscriber dedupes on for one stored event published as one public type."""
    return str(uuid.uuid5(PUBLIC_NAMESPACE, f"{stored_id}:{routing_key}"))


def public_translator(public_data: Callable[[dict], tuple[str, dict] | None]) -> Translator:
    """A relay translator from a function mapping a stored event to (routing key, data) or None."""

    def translate(doc: dict) -> Iterator[tuple[str, dict]]:
        translated = public_data(doc)
        if translated is None:
            return
        routing_key, data = translated
        yield routing_key, {
            "event_id": public_event_id(doc["_id"], routing_key), "type": routing_key,
            "occurred_at": doc["meta"]["occurred_at"], "nip": doc["nip"], "instansi_kode": doc["instansi_kode"],
            "data": data,
        }
    return translate


def internal_message(doc: dict) -> dict:
    """The body other services receive for a stored event (secrets removed)."""
    return {
        "event_id": doc["_id"], "stream": doc["stream"], "version": doc["version"],
        "type": doc["type"], "schema_version": doc.get("schema_version", 1),
        "occurred_at": doc["meta"].get("occurred_at"), "nip": doc.get("nip"),
        "instansi_kode": doc.get("instansi_kode"), "data": redact(doc["data"]),
        "meta": {k: v for k, v in doc["meta"].items() if k in ("actor", "role", "correlation_id")},
    }


class OutboxRelay:
    """Moves a service's unpublished events onto its nameko event exchange (and public ones)."""

    def __init__(self, store: EventStore, amqp_uri: str, public_exchange: str,
                 translator: Translator | None = None, nameko_config: dict | None = None,
                 mark_after: float = 0.0):
        self.store = store
        self.mark_after = mark_after
        self.settle_seconds = 3 * mark_after + 2 if mark_after else 0.0
        self._unmarked: list[str] = []  # published, confirmed, not yet marked in the store
        self._marked_at = time.monotonic()
        self.amqp_uri = amqp_uri
        self.exchange = get_event_exchange(store.service, nameko_config or {})
        self.public = Exchange(public_exchange, type="topic", durable=True)
        self.translator = translator
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def _producer(self) -> Producer:
        if self._connection is None:
            self._connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                          connect_timeout=5)
        self._connection.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.4, interval_max=1)
        return Producer(self._connection.default_channel)

    def publish_pending(self, limit: int = 200) -> int:
        """Publish up to `limit` stored events in position order (the outbox scan, plus what this process just
        appended); returns how many were confirmed."""
        return self._drain(lambda: self._scan(limit))

    def publish_fresh(self) -> int:
        """Publish what this process appended since the last pass, without a query (after each worker)."""
        return self._drain(lambda: [])

    def _scan(self, limit: int) -> list[dict]:
        if not self.settle_seconds:
            return self.store.unpublished(limit)
        settled = (datetime.now(UTC) - timedelta(seconds=self.settle_seconds)).isoformat(timespec="milliseconds")
        waiting = set(self._unmarked)
        return [doc for doc in self.store.unpublished(limit, occurred_before=settled) if doc["_id"] not in waiting]

    def mark_due(self, force: bool = False) -> None:
        """Mark what was published if the interval has passed (or `force`, e.g. when stopping)."""
        with self._lock:
            self._mark(force)

    def _mark(self, force: bool) -> None:
        now = time.monotonic()
        if not self._unmarked or not (force or now - self._marked_at >= self.mark_after):
            return
        ids, self._unmarked = self._unmarked, []
        try:
            self.store.mark_published(ids)
        except Exception:
            self._unmarked = ids + self._unmarked  # marked on a later pass; re-published at worst, never lost
            raise
        self._marked_at = now

    def _drain(self, stored: Callable[[], list[dict]]) -> int:
        if not self._lock.acquire(blocking=False):
            return 0  # another worker is already draining this outbox; it or the next pass takes ours
        try:
            by_id = {doc["_id"]: doc for doc in self.store.take_fresh()}
            by_id.update((doc["_id"], doc) for doc in stored())
            pending = sorted(by_id.values(), key=lambda doc: doc["position"])
            if not pending:
                return 0
            producer = self._producer()
            done: list[str] = []
            try:
                for doc in pending:
                    self._publish_one(producer, doc)
                    done.append(doc["_id"])
            finally:
                self._unmarked += done
                self._mark(force=False)
            return len(done)
        except Exception:
            log.exception("outbox relay pass failed; will retry")
            self.close()
            return 0
        finally:
            self._lock.release()

    def _publish_one(self, producer: Producer, doc: dict) -> None:
        producer.publish(internal_message(doc), exchange=self.exchange, routing_key=doc["type"],
                         declare=[self.exchange], serializer="json", delivery_mode=2)
        for routing_key, payload in (self.translator(doc) if self.translator else ()):
            producer.publish(payload, exchange=self.public, routing_key=routing_key,
                             declare=[self.public], serializer="json", delivery_mode=2,
                             message_id=payload["event_id"])

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            finally:
                self._connection = None
