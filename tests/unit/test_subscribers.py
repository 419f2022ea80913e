"""`pupns subscriber`: names that cannot widen the permission regex, the permissions, idempotent create."""
from __future__ import annotations

import pathlib
import re

import pytest

from pupns_cli import grants, subscribers
from pupns_cli.__main__ import build_parser
from pupns_cli.rabbit_admin import SubscriberError

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"
VHOST, EXCHANGE = "pupns", "pupns.public"


class FakeAdmin:
    """The management API calls `subscribers` makes, in memory."""

    def __init__(self, quorum: bool = True):
        self.quorum = quorum
        self.vhosts = {VHOST}
        self.queues_: dict[str, dict] = {}
        self.bound: dict[str, set[str]] = {}
        self.users: dict[str, dict] = {}
        self.perms: dict[tuple[str, str], dict] = {}
        self.exchanges: set[str] = set()
        self.closed: list[str] = []

    def vhost_exists(self, vhost):
        return vhost in self.vhosts

    def supports_quorum(self):
        return self.quorum

    def get_queue(self, vhost, name):
        return self.queues_.get(name)

    def queues(self, vhost):
        return list(self.queues_.values())

    def put_queue(self, vhost, name, queue_type):
        self.queues_[name] = {"name": name, "type": queue_type, "durable": True, "messages": 0, "consumers": 0}

    def delete_queue(self, vhost, name):
        self.queues_.pop(name, None)
        self.bound.pop(name, None)

    def put_topic_exchange(self, vhost, name):
        self.exchanges.add(name)

    def bindings(self, vhost, exchange, queue):
        return {key: key for key in self.bound.get(queue, set())}

    def bind(self, vhost, exchange, queue, key):
        self.bound.setdefault(queue, set()).add(key)

    def unbind(self, vhost, exchange, queue, properties_key):
        self.bound[queue].discard(properties_key)

    def get_user(self, name):
        return self.users.get(name)

    def put_user(self, name, password):
        self.users[name] = {"name": name, "password": password, "tags": []}

    def delete_user(self, name):
        self.users.pop(name, None)
        self.perms = {k: v for k, v in self.perms.items() if k[1] != name}

    def permissions_of(self, name):
        return [{"vhost": v, **p} for (v, u), p in self.perms.items() if u == name]

    def set_permissions(self, vhost, name, permissions):
        self.perms[(vhost, name)] = permissions

    def clear_permissions(self, vhost, name):
        self.perms.pop((vhost, name), None)

    def close_connections(self, vhost, name):
        self.closed.append(name)
        return 1


@pytest.mark.parametrize("name", ["kemenkes", "bpjs-kesehatan", "a", "k024", "taspen-2"])
def test_names_accepted(name):
    assert subscribers.validate_name(name) == name
    assert subscribers.queue_name(name) == f"sub.{name}" and subscribers.user_name(name) == f"sub-{name}"


@pytest.mark.parametrize("name", ["", "Kemenkes", "a.b", "a.*", ".*", "a|b", "a$", "^a", "a b", "a_b", "-a", "a-",
                                  "a\n", "a+", "(a)", "[a]", "a\\b", "x" * 41, "kemenkes/x", "ä"])
def test_names_that_could_widen_the_regex_are_refused(name):
    with pytest.raises(ValueError):
        subscribers.validate_name(name)
    with pytest.raises(ValueError):
        subscribers.permissions(name)


def test_permissions_read_only_its_own_queue():
    perms = subscribers.permissions("kemenkes")
    assert perms == {"configure": "^$", "write": "^$", "read": r"^sub\.kemenkes$"}
    read = re.compile(perms["read"])
    assert read.search("sub.kemenkes")
    for other in ("sub.kemenkes-x", "sub.kemenkesx", "subxkemenkes", "xsub.kemenkes", "sub.kemenke", "rpc-identity",
                  "sub.bpjs", "pupns.public", "amq.default"):
        assert not read.search(other), other
    for regex in (perms["configure"], perms["write"]):
        # the default exchange is checked as `amq.default`: `^$` matches no nameable resource
        assert not any(re.search(regex, r) for r in ("sub.kemenkes", "pupns.public", "amq.default", "amq.gen-x"))


def test_events_are_the_published_schemas():
    assert set(subscribers.PUBLIC_EVENTS) == {p.stem for p in SCHEMAS.glob("*.json")}
    assert subscribers.parse_events(" pns.data_verified.v1,pns.registered.v1,pns.data_verified.v1 ") == [
        "pns.data_verified.v1", "pns.registered.v1"]
    for bad in ("", "pns.#", "pns.*.v1", "pns.data_verified.v2", "pns.registered.v1,x"):
        with pytest.raises(ValueError):
            subscribers.parse_events(bad)


@pytest.mark.parametrize(("uri", "vhost"), [
    ("amqp://guest:guest@127.0.0.1:5672/", "/"), ("amqp://guest:guest@127.0.0.1:5672", "/"),
    ("amqp://u:p@h:5672/%2F", "/"), ("amqp://u:p@h:5672/pupns", "pupns"), ("amqp://u:p@h/e2e-1a2b", "e2e-1a2b")])
def test_vhost_from_uri(uri, vhost):
    assert subscribers.vhost_from_uri(uri) == vhost


def test_subscriber_uri_keeps_host_and_vhost_and_swaps_credentials():
    uri = subscribers.subscriber_uri("amqp://guest:guest@10.0.0.5:5673/pupns", "sub-kemenkes", "pw/+x")
    assert uri == "amqp://sub-kemenkes:pw%2F%2Bx@10.0.0.5:5673/pupns"


def test_command_line():
    args = build_parser().parse_args(["subscriber", "create", "--name", "kemenkes", "--events",
                                      "pns.data_verified.v1,pns.registered.v1", "--rotate-password"])
    assert (args.func, args.name, args.rotate_password, args.grant) == (
        subscribers.cmd_create, "kemenkes", True, [])
    assert build_parser().parse_args(["subscriber", "list"]).func is subscribers.cmd_list
    assert build_parser().parse_args(["subscriber", "delete", "--name", "x"]).func is subscribers.cmd_delete


def test_a_field_that_is_not_grantable_is_refused_before_touching_the_broker(capsys, monkeypatch):
    monkeypatch.setattr(subscribers, "_target", lambda: pytest.fail("the broker must not be contacted"))
    args = build_parser().parse_args(["subscriber", "create", "--name", "kemenkes", "--events",
                                      "pns.data_verified.v1", "--grant", "nik", "--grant", "password_hash"])
    assert args.func(args) == 2
    assert "field tidak dapat diberikan: password_hash" in capsys.readouterr().err


def test_a_granted_subscriber_is_bound_to_its_own_copy_instead_of_the_default_one():
    assert grants.parse_grants(["npwp", "nik", "nik"]) == ["nik", "npwp"]
    assert grants.routing_keys("bpjs", ["pns.registered.v1", "pns.data_verified.v1"], ["nik"]) == [
        "pns.registered.v1", "pns.data_verified.v1.granted.bpjs"]
    assert grants.routing_keys("bpjs", ["pns.data_verified.v1"], []) == ["pns.data_verified.v1"]
    args = build_parser().parse_args(["subscriber", "create", "--name", "x", "--events", "pns.data_verified.v1",
                                      "--grant-field", "nik"])  # the older spelling still works
    assert args.grant == ["nik"]


def test_create_is_idempotent_and_keeps_the_password():
    admin = FakeAdmin()
    first = subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.data_verified.v1"])
    assert first.password and len(first.password) >= 40 and first.queue_type == "quorum"
    assert admin.perms[(VHOST, "sub-kemenkes")] == subscribers.permissions("kemenkes")
    assert EXCHANGE in admin.exchanges
    again = subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.data_verified.v1", "pns.registered.v1"])
    assert again.password is None and admin.users["sub-kemenkes"]["password"] == first.password
    assert again.added == ["pns.registered.v1"] and again.removed == []
    narrowed = subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.registered.v1"])
    assert narrowed.removed == ["pns.data_verified.v1"] and admin.bound["sub.kemenkes"] == {"pns.registered.v1"}
    assert admin.closed == []
    rotated = subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.registered.v1"], rotate_password=True)
    assert rotated.password not in (None, first.password) and admin.closed == ["sub-kemenkes"]


def test_classic_queue_when_quorum_is_unavailable():
    assert subscribers.create(FakeAdmin(quorum=False), VHOST, EXCHANGE, "x", ["pns.registered.v1"]).queue_type \
        == "classic"


def test_create_refuses_a_user_used_in_another_vhost_or_with_tags():
    admin = FakeAdmin()
    admin.put_user("sub-kemenkes", "pw")
    admin.set_permissions("other", "sub-kemenkes", subscribers.permissions("kemenkes"))
    with pytest.raises(SubscriberError, match="vhost lain"):
        subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.registered.v1"])
    admin.users["sub-x"] = {"name": "sub-x", "tags": ["administrator"]}
    with pytest.raises(SubscriberError, match="tag"):
        subscribers.create(admin, VHOST, EXCHANGE, "x", ["pns.registered.v1"])
    with pytest.raises(SubscriberError, match="vhost"):
        subscribers.create(admin, "missing", EXCHANGE, "y", ["pns.registered.v1"])


def test_list_and_delete():
    admin = FakeAdmin()
    subscribers.create(admin, VHOST, EXCHANGE, "kemenkes", ["pns.data_verified.v1"])
    admin.put_queue(VHOST, "rpc-identity", "classic")
    rows = subscribers.listing(admin, VHOST, EXCHANGE)
    assert [(r["name"], r["events"], r["user"]) for r in rows] == [("kemenkes", ["pns.data_verified.v1"], True)]
    assert subscribers.delete(admin, VHOST, "kemenkes") == ["pengguna sub-kemenkes", "antrean sub.kemenkes"]
    assert "sub-kemenkes" not in admin.users and "sub.kemenkes" not in admin.queues_
    assert subscribers.delete(admin, VHOST, "kemenkes") == []
