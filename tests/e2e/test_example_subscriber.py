"""The example subscriber (examples/subscriber/) as a ministry runs it: a separate process with the credentials
`pupns subscriber create` printed. It stores each event once (also across its own restart), and keeps going
after the broker closes its connection and after the broker is unreachable for a while.

The broker's disappearance is played by a TCP relay ("amqp gate") between this subscriber and RabbitMQ: the
machine's RabbitMQ server is shared and is never restarted by tests.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse
import uuid

import pytest
import requests
from kombu import Connection, Producer

from pupns_dev.processes import free_port
from pupns_dev.stack import RABBIT_API, RABBIT_AUTH, start_amqp_gate
from pupns_dev.waiting import wait_until
from tests.e2e.test_subscriber import management, pupns

pytestmark = pytest.mark.e2e
EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "subscriber" / "subscriber.py"


class Example:
    """The example program in a subprocess, its output files and its log."""

    def __init__(self, uri: str, folder: pathlib.Path) -> None:
        self.uri, self.out, self.seen, self.log = uri, folder / "events.jsonl", folder / "seen.txt", folder / "log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PUPNS_SUBSCRIBER_URI": self.uri}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--out", str(self.out), "--seen",
                                          str(self.seen), "--max-backoff", "1"], env=env, stderr=log,
                                         stdout=subprocess.DEVNULL)

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.out.read_text().splitlines()] if self.out.exists() else []

    def logged(self, text: str) -> int:
        return self.log.read_text().count(text) if self.log.exists() else 0

    def stored(self, nip: str, timeout: float = 60) -> dict:
        return wait_until(lambda: next((e for e in self.events() if e["nip"] == nip), None), timeout=timeout,
                          interval=0.1, message=f"event of {nip} stored by the example subscriber")


def confirm(platform, row: dict) -> None:
    """register → the instansi's verifier confirms: `pns.registered.v1` is published."""
    platform.register(row)
    platform.wait_pending(row)
    done = platform.http.post(platform.url(f"/api/v1/verifier/registrations/{row['nip']}/confirm"),
                              headers=platform.verifier(row["instansi_kode"]), timeout=30)
    assert done.status_code == 200, done.text


def user_connections(user: str) -> list[str]:
    listed = requests.get(f"{RABBIT_API}/connections", auth=RABBIT_AUTH, timeout=10).json()
    return [c["name"] for c in listed if c.get("user") == user]


def test_example_subscriber_stores_each_event_once_and_survives_connection_loss(stack, platform, tmp_path):
    cfg, _ = stack
    name = f"ex-{uuid.uuid4().hex[:8]}"
    queue, user = f"sub.{name}", f"sub-{name}"
    gate_port = free_port()
    gate = start_amqp_gate(gate_port, tmp_path / "gate.log")
    example: Example | None = None
    try:
        created = pupns(cfg, "subscriber", "create", "--name", name, "--events", "pns.registered.v1")
        uri = urllib.parse.urlsplit(re.search(r"^amqp_uri: (\S+)$", created, re.M)[1])
        via_gate = uri._replace(netloc=f"{uri.username}:{uri.password}@127.0.0.1:{gate_port}").geturl()
        example = Example(via_gate, tmp_path)
        example.start()

        first = platform.take_row()
        confirm(platform, first)
        event = example.stored(first["nip"])
        assert event["type"] == "pns.registered.v1" and event["instansi_kode"] == first["instansi_kode"]

        # The platform may publish an event twice (at least once): the copy is acked and not stored again.
        with Connection(cfg.amqp_uri) as admin:
            Producer(admin.default_channel).publish(event, exchange="", routing_key=queue, serializer="json")
        wait_until(lambda: example.logged(f"duplicate {event['event_id']}"), timeout=30, message="copy skipped")

        # The broker closes the connection (what a broker restart does to its clients): it connects again.
        closed = wait_until(lambda: user_connections(user), timeout=30, message="subscriber connection listed")
        for connection in closed:
            requests.delete(f"{RABBIT_API}/connections/{urllib.parse.quote(connection, safe='')}", auth=RABBIT_AUTH,
                            headers={"X-Reason": "broker restart (test)"}, timeout=10)
        wait_until(lambda: example.logged("connected; consuming") >= 2, timeout=30, message="reconnected")
        second = platform.take_row()
        confirm(platform, second)
        example.stored(second["nip"])

        # The broker is unreachable for a while: events wait in the queue and arrive once it is back.
        gate.kill()
        gate.wait(timeout=10)
        wait_until(lambda: example.logged("no connection to the broker") >= 2, timeout=30, message="drop noticed")
        third = platform.take_row()
        confirm(platform, third)
        wait_until(lambda: management(cfg, f"queues/{{v}}/{queue}").json().get("messages", 0) >= 1, timeout=30,
                   interval=0.5, message="event queued while the subscriber is cut off")
        assert example.proc.poll() is None, "the subscriber must keep running while the broker is away"
        gate = start_amqp_gate(gate_port, tmp_path / "gate.log")
        example.stored(third["nip"])

        # Restarted, it still knows what it stored: a redelivered old event is skipped.
        assert example.stop() == 0
        example.start()
        with Connection(cfg.amqp_uri) as admin:
            Producer(admin.default_channel).publish(event, exchange="", routing_key=queue, serializer="json")
        wait_until(lambda: example.logged(f"duplicate {event['event_id']}") >= 2, timeout=30,
                   message="copy skipped after a restart")

        stored = example.events()
        assert [e["nip"] for e in stored] == [first["nip"], second["nip"], third["nip"]]
        assert example.seen.read_text().split() == [e["event_id"] for e in stored]
    finally:
        if example and example.proc and example.proc.poll() is None:
            example.stop()
        gate.kill()
        gate.wait(timeout=10)
        pupns(cfg, "subscriber", "delete", "--name", name)
