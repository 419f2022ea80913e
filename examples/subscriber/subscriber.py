#!/usr/bin/env python3
"""Example PUPNS subscriber: consume your own queue, store each public event once, survive broker restarts.

Run it with the `amqp_uri` that `pupns subscriber create` printed (see README.md next to this file):

    PUPNS_SUBSCRIBER_URI='amqp://sub-kemenkes:PASSWORD@rabbit.example.go.id:5672/pupns' \
        python subscriber.py --out events.jsonl --seen seen-event-ids.txt

Every event is delivered at least once. This program appends each new event to `--out` as one JSON line
(stdout when omitted), records its `event_id` in `--seen`, and only then acks it; an `event_id` already in
`--seen` (read back at start, so it holds across restarts) is acked and skipped. When the connection drops
(broker restart, network), it reconnects with a growing, jittered wait; unacked messages are redelivered.
Needs only kombu (`pip install kombu`).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from amqp.exceptions import ChannelError
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Connection, Consumer, Queue
from kombu.exceptions import OperationalError

log = logging.getLogger("pupns-subscriber")
# The broker went away (restart, network, a forced close): wait and connect again.
RETRYABLE = (OSError, AmqpConnectionError, OperationalError)


class SeenEvents:
    """The `event_id`s already handled, kept in a file (one per line) that is read back at start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids = set(path.read_text(encoding="utf-8").split()) if path.exists() else set()
        self.file = path.open("a", encoding="utf-8")

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.ids

    def add(self, event_id: str) -> None:
        self.file.write(event_id + "\n")
        durable(self.file)
        self.ids.add(event_id)


def durable(file: IO[str]) -> None:
    """On disk before the broker hears an ack: a power cut must not lose what was acknowledged."""
    file.flush()
    if file.fileno() > 2:  # not stdout/stderr
        os.fsync(file.fileno())


class Subscriber:
    """Consumes one queue; `handle` stores an event once and acks it afterwards."""

    def __init__(self, uri: str, queue: str, out: IO[str], seen: SeenEvents, prefetch: int = 20,
                 max_backoff: float = 30.0) -> None:
        self.uri, self.queue, self.out, self.seen = uri, queue, out, seen
        self.prefetch, self.max_backoff = prefetch, max_backoff
        self.running = True

    def handle(self, body: Any, message: Any) -> None:
        """Store a new event as a JSON line, remember its id, then ack; a repeat is only acked."""
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if not event_id:
            log.error("not a PUPNS event, acked and dropped: %.200r", body)
            message.ack()  # requeueing a message that can never be handled would redeliver it forever
            return
        if event_id in self.seen:
            log.info("duplicate %s (%s), skipped", event_id, body.get("type"))
            message.ack()
            return
        self.out.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
        durable(self.out)
        self.seen.add(event_id)  # a crash before this line means the event is written again on redelivery
        message.ack()
        log.info("stored %s %s nip=%s", event_id, body.get("type"), body.get("nip"))

    def undecodable(self, message: Any, exc: Exception) -> None:
        log.error("undecodable message (%s), acked and dropped", exc)
        message.ack()

    def run(self) -> None:
        """Consume until stopped; reconnect after every connection loss."""
        failures = 0
        while self.running:
            try:
                self.consume()
                failures = 0
            except RETRYABLE as exc:
                failures += 1
                wait = min(self.max_backoff, 2 ** min(failures - 1, 10)) * random.uniform(0.5, 1.0)
                log.warning("no connection to the broker (%s: %s); connecting again in %.1f s",
                            type(exc).__name__, exc, wait)
                self.sleep(wait)

    def consume(self) -> None:
        with Connection(self.uri, heartbeat=30, connect_timeout=10) as conn:
            conn.ensure_connection(max_retries=0)  # one attempt: the waiting between attempts is ours
            queue = Queue(self.queue, no_declare=True)  # it exists; a subscriber's user may not declare
            with Consumer(conn, queues=[queue], callbacks=[self.handle], accept=["json"],
                          prefetch_count=self.prefetch, on_decode_error=self.undecodable):
                log.info("connected; consuming %s", self.queue)
                while self.running:
                    try:
                        conn.drain_events(timeout=1)
                    except TimeoutError:
                        pass
                    conn.heartbeat_check()  # py-amqp sends heartbeats only when asked

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))

    def stop(self, *_: Any) -> None:
        self.running = False


def queue_for(uri: str) -> str:
    """`sub.NAME` for the user `sub-NAME` that `pupns subscriber create` made."""
    user = unquote(urlsplit(uri).username or "")
    if not user.startswith("sub-"):
        raise SystemExit("cannot tell the queue from the user name; pass --queue sub.NAME")
    return "sub." + user.removeprefix("sub-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Consume PUPNS public events from your own queue.")
    parser.add_argument("--uri", default=os.environ.get("PUPNS_SUBSCRIBER_URI"),
                        help="amqp_uri printed by `pupns subscriber create` (default: $PUPNS_SUBSCRIBER_URI)")
    parser.add_argument("--queue", help="queue name (default: sub.NAME from the user sub-NAME)")
    parser.add_argument("--out", help="append events here as JSON lines (default: stdout)")
    parser.add_argument("--seen", default="seen-event-ids.txt", help="file of handled event_ids")
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between reconnects (s)")
    args = parser.parse_args(argv)
    if not args.uri:
        parser.error("give --uri or set PUPNS_SUBSCRIBER_URI")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    out = open(args.out, "a", encoding="utf-8") if args.out else sys.stdout
    subscriber = Subscriber(args.uri, args.queue or queue_for(args.uri), out, SeenEvents(Path(args.seen)),
                            args.prefetch, args.max_backoff)
    signal.signal(signal.SIGTERM, subscriber.stop)
    signal.signal(signal.SIGINT, subscriber.stop)
    try:
        subscriber.run()
    except ChannelError as exc:  # wrong password, queue deleted, no permission: retrying will not help
        log.error("refused by the broker: %s", exc)
        return 2
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
