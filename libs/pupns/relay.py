"""Outbox relay: publishes stored events to RabbitMQ with publisher confirms, then marks them.

A crash between the broker's confirm and `mark_published` re-publishes on the next pass
(at-least-once); consumers dedupe by event id. Nothing stored is ever dropped.

What is published is known without a write per event. A process whose store has its own outbox
(EventStore.own_outbox, pupns.outbox) keeps one record of how far it has published; the scan publishes a dead
process's events from there. Events with the outbox flag (appended by a process without a relay) are scanned once
older than `settle_seconds` and marked in one write per `mark_after` seconds.
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
from prometheus_client import Counter

from pupns.eventstore import EventStore
from pupns.outbox import OwnOutbox
from pupns.redaction import redact

log = logging.getLogger(__name__)

ADOPTED = Counter("pupns_outbox_adopted_events", "A dead process's events published by a survivor (pupns.outbox)",
                  ("service",))
LANDED = Counter("pupns_outbox_failed_appends_landed",
                 "Events of appends that raised but were stored, found by reading them back", ("service",))

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
                 mark_after: float = 0.0, internal_types: frozenset[str] | None = None):
        self.store = store
        # Types other services consume (None: every type). An event of no other type goes onto the service's event
        # exchange for nobody: its publish and confirm cost the service and the broker a round trip for nothing.
        self.internal_types = internal_types
        self.mark_after = mark_after
        self.settle_seconds = 3 * mark_after + 2 if mark_after else 0.0
        self._unmarked: list[str] = []  # flagged events published, confirmed, not yet marked in the store
        self._adopted: list[dict] = []  # dead origins' records whose events this pass publishes
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
        """Events with the outbox flag, a dead process's events and this process's failed appends that landed."""
        if not self.settle_seconds:
            flagged = self.store.unpublished(limit)
        else:
            settled = (datetime.now(UTC) - timedelta(seconds=self.settle_seconds)).isoformat(timespec="milliseconds")
            waiting = set(self._unmarked)
            flagged = [doc for doc in self.store.unpublished(limit, occurred_before=settled)
                       if doc["_id"] not in waiting]
        outbox = self.store.outbox
        if outbox is None:
            return flagged
        doubted = outbox.due_doubts()
        try:
            landed = self.store.read_ids([doc["_id"] for doc in doubted])
        except Exception:
            outbox.failed(doubted)  # read back on a later pass
            raise
        LANDED.labels(self.store.service).inc(len(landed))
        outbox.release({doc["position"] for doc in doubted} - {doc["position"] for doc in landed})
        return flagged + landed + self._spilled(outbox, limit) + self._orphans(outbox, limit)

    def _spilled(self, outbox: OwnOutbox, limit: int) -> list[dict]:
        """This process's own events above its `through`, read back when they did not all fit in memory."""
        if not outbox.spilled:
            return []
        own = self.store.origin_events_after(outbox.origin, outbox.through(), limit)
        if len(own) < limit:
            outbox.spilled = False  # all in hand: what is not published this pass goes back to fresh
        return own

    def _orphans(self, outbox: OwnOutbox, limit: int) -> list[dict]:
        """Dead processes' events above their records' `through`; a record with nothing above it is retired."""
        found: list[dict] = []
        for record in outbox.dead_origins():
            orphans = self.store.origin_events_after(record["_id"], record["through"], limit)
            if orphans:
                self._adopted.append(record)
                found += orphans
            else:
                outbox.retire(record)
        return found

    def _settle(self, done: list[dict]) -> None:
        """Account for what was published: flagged events to mark, own positions released, dead origins moved on."""
        self._unmarked += [doc["_id"] for doc in done if "origin" not in doc]
        outbox = self.store.outbox
        if outbox is None:
            return
        outbox.release(doc["position"] for doc in done if doc.get("origin") == outbox.origin)
        adopted, self._adopted = self._adopted, []
        for record in adopted:
            published = [doc["position"] for doc in done if doc.get("origin") == record["_id"]]
            if published:  # in position order: published up to the last of them
                ADOPTED.labels(self.store.service).inc(len(published))
                outbox.advance(record, max(published))

    def mark_due(self, force: bool = False) -> None:
        """Mark what was published if the interval has passed (or `force`, e.g. when stopping), and refresh this
        process's outbox record."""
        with self._lock:
            self._mark(force)
            if self.store.outbox is not None:
                self.store.outbox.beat(force)

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
        pending, done = self.store.take_fresh(), []
        try:
            by_id = {doc["_id"]: doc for doc in pending}
            by_id.update((doc["_id"], doc) for doc in stored())
            pending = sorted(by_id.values(), key=lambda doc: doc["position"])
            if pending:
                producer = self._producer()
                for doc in pending:
                    self._publish_one(producer, doc)
                    done.append(doc)
            return len(done)
        except Exception:
            log.exception("outbox relay pass failed; will retry")
            self.close()
            return 0
        finally:
            try:
                self._account(pending, done)
            finally:
                self._lock.release()

    def _account(self, pending: list[dict], done: list[dict]) -> None:
        """After a pass: what was published is settled; this process's own events not published go back to be
        taken on the next pass (no scan looks for a live process's events)."""
        outbox = self.store.outbox
        if outbox is not None:
            published = {doc["_id"] for doc in done}
            self.store.give_back([doc for doc in pending
                                  if doc.get("origin") == outbox.origin and doc["_id"] not in published])
        try:
            self._settle(done)
            self._mark(force=False)
        except Exception:
            log.exception("recording published events failed; will retry")

    def _publish_one(self, producer: Producer, doc: dict) -> None:
        if self.internal_types is None or doc["type"] in self.internal_types:
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
