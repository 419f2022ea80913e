"""Least privilege in docker-compose and deploy/k8s (issue 11 item 5), checked statically (no Docker engine here):
every component has its own broker user and database user; each broker user's permission patterns, matched against
the real nameko resource names the code uses, allow its own queues and exchanges and nobody else's; compose's
mongod runs with authentication. The broker table is deploy/rabbitmq/permissions.json, which compose loads through
deploy/rabbitmq/definitions.py and deploy/k8s/rabbitmq.yaml repeats; tests/integration/test_broker_users.py runs
the services under these users on the real broker."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import uuid

import pytest

from tests.unit.test_deploy_manifests import ROOT, applied_docs, containers, load_compose, of_kind

TABLE = json.loads((ROOT / "deploy" / "rabbitmq" / "permissions.json").read_text())
SERVICES = ("identity", "forms", "verification", "documents", "notifications")
WEB_APPS = ("edge", "console")
COMPONENTS = SERVICES + WEB_APPS
WITH_DATABASE = (*SERVICES, "edge")  # the console keeps nothing
PUBLISHERS = {"identity", "verification"}  # relays with a translator to pupns.public
REPLY_QUEUE = f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}"  # nameko's ClusterRpcProxy (edge, console)
INIT_JS = (ROOT / "deploy" / "mongo" / "init-replica-set.js").read_text()

sys.path.insert(0, str(ROOT / "deploy" / "rabbitmq"))
import definitions  # noqa: E402  (deploy/rabbitmq/definitions.py: a script, not a package)


def handlers() -> list[tuple[str, str, str, str]]:
    """(consumer, source, event, method) of every nameko event handler in the services' code."""
    found = []
    for service in SERVICES:
        code = (ROOT / "services" / service / service / "service.py").read_text()
        for source, event, method in re.findall(
                r'@event_handler\("(\w+)", "(\w+)"[^)]*\)\s+def (\w+)', code):
            found.append((service, source, event, method))
    return found


def user(component: str) -> dict:
    return TABLE["users"][f"pupns-{component}"]


def allows(component: str, kind: str, resource: str) -> bool:
    return re.fullmatch(user(component)[kind], resource) is not None


def topic(component: str, exchange: str, kind: str, key: str) -> bool:
    patterns = user(component).get("topic", {}).get(exchange)
    assert patterns is not None, f"{component} has no topic permission on {exchange}"
    return re.search(patterns[kind], key) is not None


def test_every_component_has_its_own_broker_user_and_none_may_do_everything():
    assert sorted(TABLE["users"]) == sorted(f"pupns-{c}" for c in COMPONENTS)
    for name, perms in TABLE["users"].items():
        assert [perms[k] for k in ("configure", "write", "read")] != [".*"] * 3, name
        for kind in ("configure", "write", "read"):
            assert perms[kind].startswith("^") and perms[kind].endswith("$"), (name, kind)
            assert not re.fullmatch(perms[kind], "some-other-queue"), (name, kind)


def test_handlers_are_found_in_the_code():
    assert len(handlers()) >= 20 and {h[0] for h in handlers()} == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reaches_its_own_rpc_queue_and_event_exchange_only(service):
    for kind in ("configure", "write", "read"):
        assert allows(service, kind, f"rpc-{service}") and allows(service, kind, "nameko-rpc"), kind
    assert allows(service, "configure", f"{service}.events") and allows(service, "write", f"{service}.events")
    for other in COMPONENTS:
        if other != service:
            for kind in ("configure", "write", "read"):
                assert not allows(service, kind, f"rpc-{other}"), (kind, other)
            assert not allows(service, "write", f"{other}.events"), other
    for kind in ("configure", "write", "read"):
        assert not allows(service, kind, REPLY_QUEUE), kind  # services make no RPC calls
    assert allows(service, "write", "pupns.public") is (service in PUBLISHERS)
    assert topic(service, "nameko-rpc", "read", f"{service}.*")  # the binding of its own RPC queue
    assert topic(service, "nameko-rpc", "write", str(uuid.uuid4()))  # its replies
    for other in SERVICES:
        if other != service:
            assert not topic(service, "nameko-rpc", "read", f"{other}.*"), other  # no stealing others' calls
            assert not topic(service, "nameko-rpc", "write", f"{other}.get_me"), other


@pytest.mark.parametrize("handler", handlers(), ids=lambda h: f"{h[0]}.{h[3]}")
def test_a_consumer_declares_binds_and_reads_its_own_handler_queues_and_nobody_elses(handler):
    consumer, source, event, method = handler
    queue = f"evt-{source}-{event}--{consumer}.{method}"  # nameko's SERVICE_POOL handler queue
    for kind in ("configure", "write", "read"):
        assert allows(consumer, kind, queue), kind
    assert allows(consumer, "configure", f"{source}.events") and allows(consumer, "read", f"{source}.events")
    for other in COMPONENTS:
        if other != consumer:
            assert not any(allows(other, kind, queue) for kind in ("configure", "write", "read")), other


def test_a_service_may_delete_the_queues_of_handlers_it_retired():
    """pupns.dependencies.RetiredQueues deletes them at start: queue.delete needs configure on the queue."""
    for service in SERVICES:
        code = (ROOT / "services" / service / service / "service.py").read_text()
        for call in re.findall(r"RetiredQueues\(([^)]*)\)", code):
            for queue in re.findall(r'"([^"]+)"', call):
                assert allows(service, "configure", queue), (service, queue)
                assert not any(allows(other, "configure", queue) for other in COMPONENTS if other != service)


def test_a_service_reads_only_the_event_exchanges_it_consumes():
    consumed = {s: {h[1] for h in handlers() if h[0] == s} for s in SERVICES}
    for service in SERVICES:
        readable = {source for source in SERVICES if allows(service, "read", f"{source}.events")}
        assert readable == consumed[service], service


@pytest.mark.parametrize("app", WEB_APPS)
def test_a_web_app_only_calls_and_reads_its_own_replies(app):
    for kind in ("configure", "write", "read"):
        assert allows(app, kind, REPLY_QUEUE) and allows(app, kind, "nameko-rpc"), kind
        for service in SERVICES:
            assert not allows(app, kind, f"rpc-{service}"), (kind, service)
            assert not allows(app, kind, f"{service}.events"), (kind, service)
        assert not allows(app, kind, "pupns.public"), kind
    assert topic(app, "nameko-rpc", "write", "identity.issue_token")
    assert topic(app, "nameko-rpc", "read", str(uuid.uuid4()))  # its reply queues' binding keys
    for service in SERVICES:
        assert not topic(app, "nameko-rpc", "read", f"{service}.*"), service  # cannot take a service's calls


def test_public_events_are_published_only_under_their_publishers_own_routing_keys():
    assert topic("identity", "pupns.public", "write", "pns.not_reregistered.v1")
    assert topic("identity", "pupns.public", "write", "pns.reinstated.v1")
    assert not topic("identity", "pupns.public", "write", "pns.data_verified.v1")
    for key in ("pns.data_verified.v1", "pns.registration_confirmed.v1", "pns.data_verified.v1.granted.kemenkeu"):
        assert topic("verification", "pupns.public", "write", key), key
    for publisher in PUBLISHERS:
        assert not topic(publisher, "pupns.public", "read", "pns.data_verified.v1")  # binds nothing to it


# ---------------------------------------------------------------- docker-compose
ENV = {definitions.password_env(name): f"pw-{name}" for name in [*TABLE["users"], definitions.OPERATOR]}


def test_compose_definitions_hold_salted_hashes_of_every_users_password_and_the_tables_permissions():
    made = definitions.definitions(ENV)
    assert made["vhosts"] == [{"name": "pupns"}]
    by_name = {u["name"]: u for u in made["users"]}
    assert set(by_name) == {*TABLE["users"], "pupns-operator"}
    for name, entry in by_name.items():
        raw = base64.b64decode(entry["password_hash"])
        assert raw[4:] == hashlib.sha256(raw[:4] + ENV[definitions.password_env(name)].encode()).digest(), name
        assert ENV[definitions.password_env(name)] not in json.dumps(made), name
    assert by_name["pupns-operator"]["tags"] == ["administrator"]
    assert all(not by_name[name]["tags"] for name in TABLE["users"])  # no management access for a component
    permissions = {p["user"]: p for p in made["permissions"]}
    for name, perms in TABLE["users"].items():
        assert {k: permissions[name][k] for k in ("configure", "write", "read")} == {
            k: perms[k] for k in ("configure", "write", "read")}
    assert len(made["topic_permissions"]) == sum(len(p.get("topic", {})) for p in TABLE["users"].values())
    with pytest.raises(KeyError, match="PUPNS_RABBITMQ_EDGE_PASSWORD"):
        definitions.definitions({k: v for k, v in ENV.items() if k != "PUPNS_RABBITMQ_EDGE_PASSWORD"})


def test_compose_loads_the_definitions_and_gives_every_component_its_own_broker_user():
    services = load_compose()["services"]
    maker, broker = services["rabbitmq-definitions"], services["rabbitmq"]
    assert set(maker["environment"]) == set(ENV)
    assert broker["depends_on"]["rabbitmq-definitions"]["condition"] == "service_completed_successfully"
    conf = (ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text()
    loaded = re.search(r"^load_definitions = (\S+)$", conf, re.M).group(1)
    out = maker["command"][maker["command"].index("--out") + 1]
    volume = next(v for v in maker["volumes"] if out.startswith(v.split(":")[1] + "/")).split(":")[0]
    assert any(v.startswith(f"{volume}:") and loaded.startswith(v.split(":")[1] + "/") for v in broker["volumes"])
    assert "RABBITMQ_DEFAULT_USER" not in (broker.get("environment") or {})
    users = {}
    for component in COMPONENTS:
        uri = services[component]["environment"]["PUPNS_AMQP_URI"]
        users[component] = re.match(r"amqp://([^:]+):", uri).group(1)
        assert uri.endswith("@rabbitmq:5672/pupns"), component
    assert users == {c: f"pupns-{c}" for c in COMPONENTS}


def mongo_users() -> dict[str, list[tuple[str, str]]]:
    """user -> [(role, db)] as deploy/mongo/init-replica-set.js creates them."""
    found = {}
    for name, roles in re.findall(r'\{ user: "([\w-]+)", env: "\w+",\s*roles: \[(.*?)\] \}', INIT_JS, re.S):
        found[name] = re.findall(r'role: "(\w+)", db: "(\w+)"', roles)
    return found


def test_compose_mongod_runs_with_authentication_and_every_component_logs_in_as_its_own_user():
    services = load_compose()["services"]
    for node in ("mongo1", "mongo2", "mongo3"):
        command = services[node]["command"]
        assert "--keyFile" in command or "--auth" in command, node
        assert services[node]["depends_on"]["mongo-keyfile"]["condition"] == "service_completed_successfully"
    users = mongo_users()
    for component in WITH_DATABASE:
        uri = services[component]["environment"]["PUPNS_MONGO_URI"]
        name = re.match(r"mongodb://([^:]+):", uri).group(1)
        assert name == f"pupns-{component}" and "authSource=admin" in uri, component
        assert users[name] == [("readWrite", f"pupns_{component}")], name  # its own database only
    assert "PUPNS_MONGO_URI" not in services["console"]["environment"]
    keystore = {re.match(r"mongodb://([^:]+):", s["environment"]["PUPNS_KEYSTORE_MONGO_URI"]).group(1)
                for s in services.values() if "PUPNS_KEYSTORE_MONGO_URI" in (s.get("environment") or {})}
    assert keystore == {"pupns-keys"} and users["pupns-keys"] == [("readWrite", "pupns_keys")]
    init = services["mongo-init"]
    assert init["network_mode"] == "service:mongo1"  # the localhost exception creates the first user
    assert {f"PUPNS_MONGO_{n.removeprefix('pupns-').upper()}_PASSWORD" for n in users} | {
        "PUPNS_MONGO_ROOT_PASSWORD"} == set(init["environment"])


# ---------------------------------------------------------------- Kubernetes
def test_kubernetes_gives_every_component_its_own_broker_user_with_the_tables_permissions():
    docs = applied_docs()
    users = of_kind(docs, "User")
    permissions = {p["spec"]["userReference"]["name"]: p["spec"] for p in of_kind(docs, "Permission").values()}
    topics = [t["spec"] for t in of_kind(docs, "TopicPermission").values()]
    for name, perms in TABLE["users"].items():
        component = name.removeprefix("pupns-")
        assert users[name]["spec"]["importCredentialsSecret"]["name"] == f"pupns-amqp-{component}"
        assert permissions[name]["permissions"] == {k: perms[k] for k in ("configure", "write", "read")}, name
        mine = {t["permissions"]["exchange"]: {k: t["permissions"][k] for k in ("write", "read")}
                for t in topics if t["userReference"]["name"] == name}
        assert mine == perms.get("topic", {}), name
    everything = [n for n, p in permissions.items() if list(p["permissions"].values()) == [".*"] * 3]
    assert everything == ["pupns-operator"] and users["pupns-operator"]["spec"]["tags"] == ["administrator"]
    amqp = {}
    for deployment, container in containers(docs).items():
        item = next(e for e in container["env"] if e["name"] == "PUPNS_AMQP_URI")
        amqp[deployment.removeprefix("pupns-")] = item["valueFrom"]["secretKeyRef"]["name"]
    assert amqp == {c: f"pupns-amqp-{c}" for c in COMPONENTS}
