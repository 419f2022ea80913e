"""A ministry's subscriber, made by `pupns subscriber create`, against the running platform's vhost.

It receives `pns.data_verified.v1` for an approved PNS (valid against its published schema, no NIK/NPWP),
and its RabbitMQ user can consume only its own queue: no other queue, no publishing, no declaring.
"""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import urllib.parse
import uuid

import pytest
import requests
from amqp.exceptions import AccessRefused
from jsonschema import Draft202012Validator, FormatChecker
from kombu import Connection, Consumer, Exchange, Producer, Queue

from pupns.personal import PERSONAL_FIELDS
from pupns_dev.stack import RABBIT_API, RABBIT_AUTH
from pupns_dev.waiting import wait_until

pytestmark = pytest.mark.e2e
SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"


def pupns(cfg, *args: str, expect: int = 0) -> str:
    done = subprocess.run([sys.executable, "-m", "pupns_cli", *args], env=cfg.env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == expect, f"pupns {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def management(cfg, path: str) -> requests.Response:
    return requests.get(f"{RABBIT_API}/{path.format(v=urllib.parse.quote(cfg.vhost, safe=''))}", auth=RABBIT_AUTH,
                        timeout=10)


def keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def approved_pns(platform, row: dict) -> None:
    """register → confirm → login → save a section → submit → approve, all over HTTP."""
    pns = platform.confirmed_pns(row)
    form = platform.form(pns)
    data_utama = {**form.json()["sections"]["data_utama"], "no_hp": "081234567890", "alamat": "Jl. Sudirman 2"}
    saved = platform.http.put(platform.url("/api/v1/me/form/sections/data_utama"), json=data_utama, timeout=30,
                              headers={**pns, "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text
    assert platform.http.post(platform.url("/api/v1/me/form/submit"), headers=pns, timeout=30).status_code == 200
    verifier = platform.verifier(row["instansi_kode"])
    wait_until(lambda: any(i["nip"] == row["nip"] for i in platform.http.get(
        platform.url("/api/v1/verifier/submissions?status=submitted"), headers=verifier, timeout=30)
        .json()["items"]), timeout=30, interval=0.1, message=f"submission of {row['nip']} queued")
    approved = platform.http.post(platform.url(f"/api/v1/verifier/submissions/{row['nip']}/approve"),
                                  headers=verifier, timeout=30)
    assert approved.status_code == 200, approved.text


def refused(conn: Connection, attempt) -> AccessRefused:
    """Run `attempt(channel)` on a fresh channel; it must be refused with AMQP 403 ACCESS_REFUSED."""
    channel = conn.channel()
    with pytest.raises(AccessRefused) as caught:
        attempt(channel)
    assert caught.value.code == 403
    return caught.value


def test_subscriber_reads_only_its_own_queue(stack, platform):
    cfg, _ = stack
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    queue, user = f"sub.{name}", f"sub-{name}"
    other = Queue(f"{queue}-x", durable=False, auto_delete=False)  # shares the prefix: must stay unreadable
    try:
        created = pupns(cfg, "subscriber", "create", "--name", name, "--events", "pns.data_verified.v1")
        uri = re.search(r"^amqp_uri: (\S+)$", created, re.M)[1]
        assert f"{user}:" in uri and uri.endswith("/" + urllib.parse.quote(cfg.vhost, safe=""))
        refusal = pupns(cfg, "subscriber", "create", "--name", name, "--events", "pns.data_verified.v1",
                        "--grant", "password_hash", expect=2)
        assert "field tidak dapat diberikan: password_hash" in refusal
        again = pupns(cfg, "subscriber", "create", "--name", name, "--events", "pns.data_verified.v1")
        assert "kata sandi tidak berubah" in again and "amqp_uri:" not in again

        info = management(cfg, f"queues/{{v}}/{queue}").json()
        assert info["type"] == "quorum" and info["durable"] is True
        bindings = management(cfg, f"bindings/{{v}}/e/pupns.public/q/{queue}").json()
        assert [b["routing_key"] for b in bindings] == ["pns.data_verified.v1"]
        assert management(cfg, f"users/{user}").json()["tags"] == []
        perms = management(cfg, f"users/{user}/permissions").json()
        assert [(p["vhost"], p["configure"], p["write"], p["read"]) for p in perms] == [
            (cfg.vhost, "^$", "^$", rf"^sub\.{name}$")]
        listed = pupns(cfg, "subscriber", "list")
        assert re.search(rf"^{name}: antrean {re.escape(queue)} \(quorum\), {user}, .*pns\.data_verified\.v1$",
                         listed, re.M), listed

        with Connection(cfg.amqp_uri) as admin:
            other(admin.default_channel).declare()
        row = platform.take_row()
        approved_pns(platform, row)

        with Connection(uri, connect_timeout=10) as conn:
            received: list[tuple[dict, str | None]] = []

            def on_message(body, message):
                received.append((body, message.properties.get("message_id")))
                message.ack()

            with Consumer(conn, queues=[Queue(queue, no_declare=True)], callbacks=[on_message], accept=["json"],
                          prefetch_count=10):
                def arrived() -> list[dict]:
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    return [body for body, _ in received if body["nip"] == row["nip"]]
                mine = wait_until(arrived, timeout=60, interval=0, message="pns.data_verified.v1 in the queue")

            event = mine[0]
            schema = json.loads((SCHEMAS / "pns.data_verified.v1.json").read_text())
            Draft202012Validator(schema, format_checker=FormatChecker()).validate(event)
            assert event["type"] == "pns.data_verified.v1" and event["instansi_kode"] == row["instansi_kode"]
            assert event["data"]["sections"]["data_utama"]["nama"] == row["nama"]
            # no personal field for a subscriber granted none (SPEC §7): the address saved above stays out too
            assert not keys(event) & set(PERSONAL_FIELDS) and "Jl. Sudirman 2" not in json.dumps(event)
            assert row["nik"] not in json.dumps(event)
            # only the bound routing key arrives (the PNS's pns.registered.v1 was published too), deduped by id
            assert {body["type"] for body, _ in received} == {"pns.data_verified.v1"}
            assert all(message_id == body["event_id"] for body, message_id in received)

            assert conn.channel().queue_declare(queue, passive=True).queue == queue  # passive needs no right
            refused(conn, lambda ch: ch.basic_consume(other.name, callback=print))
            refused(conn, lambda ch: ch.basic_get(other.name))
            refused(conn, lambda ch: ch.basic_consume("rpc-identity", callback=print))
            refused(conn, lambda ch: ch.queue_declare(f"{queue}-new", durable=True))
            refused(conn, lambda ch: ch.queue_declare("", exclusive=True))  # no server-named queue either
            refused(conn, lambda ch: ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"}))
            refused(conn, lambda ch: ch.queue_bind(queue, "pupns.public", "pns.#"))
            refused(conn, lambda ch: ch.queue_delete(queue))

        with Connection(uri, transport_options={"confirm_publish": True}) as conn:
            forged = {**event, "event_id": str(uuid.uuid4())}
            denied = refused(conn, lambda ch: Producer(ch).publish(
                forged, exchange=Exchange("pupns.public", type="topic", durable=True), declare=[],
                routing_key="pns.data_verified.v1", serializer="json"))
            assert "pupns.public" in str(denied)
            refused(conn, lambda ch: Producer(ch).publish(forged, exchange="", routing_key=other.name,
                                                          serializer="json"))

        deleted = pupns(cfg, "subscriber", "delete", "--name", name)
        assert f"pengguna {user}" in deleted and f"antrean {queue}" in deleted
        assert management(cfg, f"users/{user}").status_code == 404
        assert management(cfg, f"queues/{{v}}/{queue}").status_code == 404
        with pytest.raises(AccessRefused):
            with Connection(uri, connect_timeout=10) as gone:
                gone.connect()
    finally:
        pupns(cfg, "subscriber", "delete", "--name", name)
        with Connection(cfg.amqp_uri) as admin:
            other(admin.default_channel).delete()
