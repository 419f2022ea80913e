"""The broker users of deploy/rabbitmq/permissions.json on the real RabbitMQ (issue 11 item 5): the services start,
answer RPCs and pass events to each other, each logged in as its own least-privileged user, and a component
refused what is not its own (another service's calls, queues, exchanges, public routing keys).

The users are made in this test's vhost with the table's patterns, as docker-compose's definitions and the k8s
Topology Operator make them in vhost `pupns`."""
from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import eventlet
import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer, Queue

from documents.service import DocumentsService
from forms.service import FormsService
from identity.service import IdentityService
from notifications.service import NotificationsService
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy
from verification.service import VerificationService

TABLE = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "permissions.json").read_text())
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
START_SECONDS = 60


@pytest.fixture
def users(rabbit_manager, rabbit_config):
    """component -> AMQP URI of its own user in this test's vhost (made with the table's patterns)."""
    vhost, made = rabbit_config["vhost"], {}
    host = urlparse(rabbit_config["AMQP_URI"]).netloc.rpartition("@")[2]
    for name, perms in TABLE["users"].items():
        login, password = f"{name}-{vhost}", secrets.token_urlsafe(16)
        rabbit_manager._put("users", login, json={"password": password, "tags": ""})
        rabbit_manager.set_vhost_permissions(vhost, login, perms["configure"], perms["read"], perms["write"])
        for exchange, patterns in perms.get("topic", {}).items():
            rabbit_manager._put("topic-permissions", vhost, login, json={"exchange": exchange, **patterns})
        made[name.removeprefix("pupns-")] = (login, f"amqp://{login}:{password}@{host}/{vhost}")
    yield {component: uri for component, (_, uri) in made.items()}
    for login, _ in made.values():
        rabbit_manager._delete("users", login)


def refused(uri: str, action) -> bool:
    """True when the broker refuses `action(channel)` to this user (403 ACCESS_REFUSED)."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.connect()  # a refused login is a failure of the test, not a refusal of the action
        try:
            action(connection.default_channel)
        except AccessRefused:
            return True
    return False


def publish(exchange: str, key: str):
    topic = Exchange(exchange, type="topic", durable=True)
    return lambda channel: Producer(channel).publish({"x": 1}, exchange=topic, routing_key=key)


def declare(exchange: str):
    return lambda channel: Exchange(exchange, type="topic", durable=True)(channel).declare()


def test_services_work_under_their_own_users_and_are_refused_the_rest(runner_factory, users, store_for):
    for component, service in (("identity", IdentityService), ("verification", VerificationService),
                               ("forms", FormsService), ("documents", DocumentsService),
                               ("notifications", NotificationsService)):
        # A resource the table does not allow leaves nameko retrying for ever: fail instead of hanging the suite.
        with eventlet.Timeout(START_SECONDS, TimeoutError(f"{component} did not start under its own broker user")):
            runner_factory({"AMQP_URI": users[component]}, service).start()
    rows = list(generate_rows(3, seed=5))
    verifier = {"id": "verif.a", "role": "verifier", "instansi_kode": rows[0]["instansi_kode"]}
    now = datetime.now(UTC)
    with signed_proxy("identity", {"AMQP_URI": users["edge"]}, timeout=60) as identity, \
            signed_proxy("verification", {"AMQP_URI": users["console"]}, timeout=60) as verification:
        identity.import_roster(roster_csv(3, seed=5), ADMIN)  # the edge's user calls identity
        identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)
        identity.register({"nip": rows[0]["nip"], "nik": rows[0]["nik"], "email": "a@contoh.go.id",
                           "password": "rahasia-negara-1"})
        # identity's relay publishes on identity.events; verification's handler queue receives it; the console's
        # user calls verification.
        wait_until(lambda: verification.list_registrations(verifier)["items"], timeout=30,
                   message="the registration reached verification through identity.events")
        # identity's audit job calls every other service's audit pages under identity's own user.
        job = identity.start_audit_verify(ADMIN)
        done = wait_until(lambda: (j := identity.get_job(job["id"], ADMIN))["status"] in ("done", "failed") and j,
                          timeout=60, message="the audit job ended")
        assert done["status"] == "done" and done["result"]["broken"] == [], done
        assert done["result"]["services"]["verification"]["events_checked"] > 0
    wait_until(lambda: store_for("forms").db["campaign"].find_one(), timeout=30,
               message="forms consumed identity's CampaignScheduled")

    reply = f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}"
    rpc = Exchange("nameko-rpc", type="topic", durable=True)
    steal_calls = lambda channel: Queue(reply, rpc, routing_key="identity.*")(channel).declare()  # noqa: E731
    assert refused(users["edge"], steal_calls)  # may bind its reply queue only with reply keys
    own = f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}"
    assert not refused(users["edge"], lambda channel: Queue(own, rpc, routing_key=str(uuid.uuid4()),
                                                            auto_delete=True)(channel).declare())
    assert refused(users["forms"], lambda channel: channel.basic_consume("rpc-identity", callback=print))
    assert refused(users["identity"], publish("nameko-rpc", "forms.save_section"))  # only the audit pages
    assert not refused(users["identity"], publish("nameko-rpc", "forms.verify_chains_page"))
    assert refused(users["console"], publish("identity.events", "StaffAccountCreated"))
    assert refused(users["forms"], declare("pupns.public"))  # not a publisher of public events
    assert not refused(users["identity"], declare("pupns.public"))
    assert refused(users["identity"], publish("pupns.public", "pns.data_verified.v1"))  # verification's key
    assert not refused(users["identity"], publish("pupns.public", "pns.reinstated.v1"))
    assert refused(users["documents"], lambda channel: channel.queue_declare(
        "evt-verification-RegistrationConfirmed--documents.spy", durable=True))
    assert refused(users["notifications"], lambda channel: channel.queue_delete("rpc-verification"))
