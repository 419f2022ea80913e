"""Subscriber grants end to end (SPEC §5, §7; issue 13 item 4): two ministries made with the CLI, one granted `nik`,
one not; after one approval each reads its own queue with its own credentials and gets exactly one copy: the
granted one carries the NIK in clear, the other no personal field at all."""
from __future__ import annotations

import json
import re
import uuid

import pytest
from kombu import Connection, Consumer, Queue

from pupns.personal import PERSONAL_FIELDS
from pupns_dev.waiting import wait_until
from tests.e2e.test_subscriber import approved_pns, keys, pupns

pytestmark = pytest.mark.e2e


def copies_for(uri: str, queue: str, nip: str) -> list[tuple[dict, str]]:
    """Every message about `nip` in the subscriber's queue (acked), with the routing key it came by."""
    received: list[tuple[dict, str]] = []
    with Connection(uri, connect_timeout=10) as conn:
        def on_message(body, message):
            received.append((body, message.delivery_info["routing_key"]))
            message.ack()

        with Consumer(conn, queues=[Queue(queue, no_declare=True)], callbacks=[on_message], accept=["json"]):
            def arrived() -> list:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
                return [item for item in received if item[0]["nip"] == nip]
            wait_until(arrived, timeout=60, interval=0, message=f"an event about {nip} in {queue}")
            try:  # a second copy, if one were wrongly routed here, would arrive right behind the first
                conn.drain_events(timeout=2)
            except TimeoutError:
                pass
    return [item for item in received if item[0]["nip"] == nip]


def test_only_the_granted_subscriber_receives_the_granted_field_in_clear(stack, platform):
    cfg, _ = stack
    granted, plain = f"e2e-g-{uuid.uuid4().hex[:6]}", f"e2e-p-{uuid.uuid4().hex[:6]}"
    try:
        made = pupns(cfg, "subscriber", "create", "--name", granted, "--events", "pns.data_verified.v1",
                     "--grant", "nik")
        granted_uri = re.search(r"^amqp_uri: (\S+)$", made, re.M)[1]
        assert "field pribadi yang diberikan: nik" in made
        made = pupns(cfg, "subscriber", "create", "--name", plain, "--events", "pns.data_verified.v1")
        plain_uri = re.search(r"^amqp_uri: (\S+)$", made, re.M)[1]

        row = platform.take_row(lambda r: "Guru" not in r["jabatan"] and "Dokter" not in r["jabatan"])
        approved_pns(platform, row)

        ((mine, key),) = copies_for(granted_uri, f"sub.{granted}", row["nip"])
        assert key == f"pns.data_verified.v1.granted.{granted}" and mine["type"] == "pns.data_verified.v1"
        assert mine["data"]["sections"]["data_utama"]["nik"] == row["nik"]
        assert keys(mine) & set(PERSONAL_FIELDS) == {"nik"}, "only the granted field"

        ((theirs, key),) = copies_for(plain_uri, f"sub.{plain}", row["nip"])
        assert key == "pns.data_verified.v1" and not keys(theirs) & set(PERSONAL_FIELDS)
        assert row["nik"] not in json.dumps(theirs)
        assert theirs["data"]["sections"]["data_utama"]["nama"] == mine["data"]["sections"]["data_utama"]["nama"]
        assert theirs["event_id"] != mine["event_id"]  # each copy is deduped on its own id
    finally:
        pupns(cfg, "subscriber", "delete", "--name", granted)
        pupns(cfg, "subscriber", "delete", "--name", plain)
