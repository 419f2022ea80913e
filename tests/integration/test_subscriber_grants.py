"""Public subscribers' field grants (SPEC §5, §7, issue 13 item 4) on real RabbitMQ and SecantusDB: the default
`pns.data_verified.v1` carries no personal field; a subscriber granted `nik` receives its own copy under
`pns.data_verified.v1.granted.<name>` with exactly that field in clear (null once the PNS's data was erased)."""
from __future__ import annotations

import json
import pathlib
import time
import uuid
from datetime import date

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import event_dispatcher

from pupns.errors import AppError
from pupns.nip import make_nip
from pupns.personal import PERSONAL_FIELDS, KeyStore
from pupns.relay import public_event_id
from pupns.replay import check
from pupns_cli.grants import GRANTABLE, granted_key
from pupns_dev.waiting import wait_until
from tests.factories import NIP
from tests.integration.test_verification_personal_data import ADMIN, VERIFIER, Person, hand_over
from tests.rpc import signed_proxy
from verification import commands, service
from verification.adapters import Deps
from verification.adapters.projections import Projector
from verification.domain.grants import GRANTABLE as SERVICE_GRANTABLE
from verification.service import VerificationService
from verification.settings import Settings

SCHEMA = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events" / "pns.data_verified.v1.json"
ERASED_NIP = make_nip(date(1987, 6, 1), date(2012, 1, 1), "L")


@pytest.fixture
def verification(runner_factory, rabbit_config, db_prefix, monkeypatch):
    monkeypatch.setenv("PUPNS_KEY_CACHE_TTL", "0")  # an erasure in this test's key store is seen at once
    monkeypatch.setenv("PUPNS_GRANTS_CACHE_SECONDS", "0")  # the relay sees each grant change at once
    monkeypatch.setattr(service, "SETTINGS", Settings.from_env())  # read at import: read again with it
    runner_factory(rabbit_config, VerificationService).start()
    with signed_proxy("verification", rabbit_config, timeout=60) as proxy:
        yield proxy


@pytest.fixture
def queues(rabbit_config):
    """Two subscribers' queues on pupns.public, bound before anything is published: one to the default key, one
    to the granted key of `dukcapil`; yields a function draining {routing key: [payload, ...]} of both."""
    exchange = Exchange("pupns.public", type="topic", durable=True)
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        bound = [Queue(f"test-{uuid.uuid4().hex[:8]}", exchange, routing_key=key)(connection.default_channel)
                 for key in ("pns.data_verified.v1", granted_key("dukcapil"))]
        received: dict[str, list[dict]] = {}
        for queue in bound:
            queue.declare()

        def drain() -> dict[str, list[dict]]:
            for queue in bound:
                while (message := queue.get(no_ack=True)) is not None:
                    received.setdefault(message.delivery_info["routing_key"], []).append(message.payload)
            return received

        yield drain


def personal_fields_in(value) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if k in PERSONAL_FIELDS} | set().union(*map(personal_fields_in, value.values()))
    if isinstance(value, list):
        return set().union(*map(personal_fields_in, value))
    return set()


def test_the_service_grants_what_the_cli_offers():
    assert SERVICE_GRANTABLE == tuple(sorted(GRANTABLE))


def test_grants_are_admin_only_checked_audited_and_listed(verification, store_for):
    for actor in (VERIFIER, {"id": NIP, "role": "pns", "instansi_kode": "A1"}):
        with pytest.raises(AppError) as refused:
            verification.set_subscriber_grants("dukcapil", ["nik"], actor)
        assert refused.value.code == "forbidden"
    for name, fields in (("dukcapil", ["password_hash"]), ("dukcapil", ["nama"]), ("Dukcapil.x", ["nik"]),
                         ("dukcapil", "nik")):
        with pytest.raises(AppError) as invalid:
            verification.set_subscriber_grants(name, fields, ADMIN)
        assert invalid.value.code == "validation_error"
    assert verification.set_subscriber_grants("dukcapil", ["npwp", "nik", "nik"], ADMIN) == {
        "name": "dukcapil", "fields": ["nik", "npwp"], "changed": True}
    assert verification.set_subscriber_grants("dukcapil", ["nik", "npwp"], ADMIN)["changed"] is False
    verification.set_subscriber_grants("bpjs", ["bpjs_kesehatan_nomor"], ADMIN)
    assert verification.subscriber_grants() == [{"name": "bpjs", "fields": ["bpjs_kesehatan_nomor"]},
                                                {"name": "dukcapil", "fields": ["nik", "npwp"]}]
    assert verification.set_subscriber_grants("dukcapil", [], ADMIN)["changed"] is True  # withdrawn
    assert verification.subscriber_grants() == [{"name": "bpjs", "fields": ["bpjs_kesehatan_nomor"]}]
    audit = store_for("verification").read_stream("subscriber-dukcapil")
    assert [(e["type"], e["data"]["fields"], e["data"]["previous"], e["meta"]["actor"]) for e in audit] == [
        ("SubscriberGrantsSet", ["nik", "npwp"], [], "admin"), ("SubscriberGrantsSet", [], ["nik", "npwp"], "admin")]
    assert all(e["nip"] is None for e in audit)
    assert check(store_for("verification"), Projector)["equal"]  # the grants read model replays equal


def test_the_default_copy_has_no_personal_field_and_the_granted_copy_exactly_the_granted_ones(
        verification, rabbit_config, store_for, queues):
    store, dispatch = store_for("verification"), event_dispatcher(rabbit_config)
    verification.set_subscriber_grants("dukcapil", ["nik"], ADMIN)
    person, erased = Person(), Person(ERASED_NIP)
    for someone in (person, erased):
        hand_over(dispatch, someone)
    wait_until(lambda: store.db["submissions"].count_documents({}) == 2, message="both submissions received")
    verification.approve_submission(NIP, VERIFIER)
    KeyStore.from_env().erase(ERASED_NIP, reason="test", actor="admin")
    verification.approve_submission(ERASED_NIP, VERIFIER)

    got = wait_until(lambda: (found := queues()) and all(len(found.get(k, [])) == 2 for k in (
        "pns.data_verified.v1", granted_key("dukcapil"))) and found, message="both copies of both approvals")
    default = {p["nip"]: p for p in got["pns.data_verified.v1"]}
    granted = {p["nip"]: p for p in got[granted_key("dukcapil")]}
    schema = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=FormatChecker())
    for nip in (NIP, ERASED_NIP):
        schema.validate(default[nip])
        assert personal_fields_in(default[nip]) == set()
        assert personal_fields_in(granted[nip]) == {"nik"}
        assert granted[nip]["type"] == default[nip]["type"] == "pns.data_verified.v1"
        stored_id = next(e["_id"] for e in store.read_stream(f"submission-{nip}") if e["type"] == "SubmissionApproved")
        assert default[nip]["event_id"] == public_event_id(stored_id, "pns.data_verified.v1")
        assert granted[nip]["event_id"] == public_event_id(stored_id, granted_key("dukcapil"))
        without_nik = {**granted[nip]["data"]["sections"]["data_utama"]}
        without_nik.pop("nik")
        assert without_nik == default[nip]["data"]["sections"]["data_utama"]
        assert {k: v for k, v in granted[nip]["data"]["sections"].items() if k != "data_utama"} == \
            {k: v for k, v in default[nip]["data"]["sections"].items() if k != "data_utama"}
    assert granted[NIP]["data"]["sections"]["data_utama"]["nik"] == person.nik
    assert granted[ERASED_NIP]["data"]["sections"]["data_utama"]["nik"] is None  # erased before it was published
    text = json.dumps(got)
    assert [v for v in person.texts() if v != person.nik and v in text] == []


def test_a_change_is_answered_only_once_every_relays_cached_grants_ran_out(store_for, db_prefix):
    """The CLI moves the subscriber's binding right after the answer: by then no relay may publish with old
    grants, or an event approved in between would reach neither binding."""
    deps = Deps.of(store_for("verification"), Settings(grants_cache_seconds=0.5))
    started = time.monotonic()
    assert commands.set_subscriber_grants(deps, "dukcapil", ["nik"], ADMIN)["changed"] is True
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert commands.set_subscriber_grants(deps, "dukcapil", ["nik"], ADMIN)["changed"] is False
    assert time.monotonic() - started < 0.5  # nothing changed: nothing to wait for
