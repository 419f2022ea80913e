"""Offline checks of the deployment files: schemas, and consistency with the code and the contract.

- docker-compose.yml against the Compose Specification schema that check-jsonschema vendors
  (check_jsonschema/builtin_schemas/vendor/compose-spec.json, Apache-2.0).
- every Kubernetes manifest in deploy/k8s against the Kubernetes JSON schemas that
  kubernetes-validate ships (strict: unknown fields are errors); operator custom resources
  (RabbitmqCluster, MongoDBCommunity, ...) have no schema offline and are checked structurally.
No network, no Docker engine, no cluster.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
NAMEKO_YAML = ROOT / "deploy" / "nameko.yaml"
K8S_VERSION = "1.31.0"
IMAGE = "pupns"
WEB_APPS = {"edge", "console"}
NAMEKO_CONFIG = "/app/deploy/nameko.yaml"
WEB_COMMANDS = {
    "edge": ["gunicorn", "-c", "services/edge/gunicorn.conf.py", "edge.http.server:app"],
    "console": ["gunicorn", "-k", "gthread", "--threads", "8", "-b", "0.0.0.0:8001", "console.app:app"],
}
# Variables that only a deployment file's consumer reads, with that consumer. Until CONTRACT.md
# lists them they are allowed here; the test checks the consumer really reads them once it exists.
DEPLOY_ONLY_VARS = {
    "PUPNS_MAX_WORKERS": "deploy/nameko.yaml",
    "PUPNS_EDGE_BIND": "services/edge/gunicorn.conf.py",
    "PROMETHEUS_MULTIPROC_DIR": "services/edge/gunicorn.conf.py",  # read by prometheus_client in the workers
}
CUSTOM_RESOURCES = {
    "rabbitmq.com/v1beta1": {"RabbitmqCluster", "Vhost", "Policy", "User", "Permission", "TopicPermission",
                             "Exchange", "Queue", "Binding"},
    "mongodbcommunity.mongodb.com/v1": {"MongoDBCommunity"},
}
SECRET_NAME = re.compile(r"(PASSWORD|PASS|SECRET|TOKEN|KEYS?)$")
REQUIRED_INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+:\?[^}]*\}$")
URI_USERINFO = re.compile(r"://([^/@\s:]+):([^/@\s]+)@")


# ---------------------------------------------------------------- loading
def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def k8s_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_k8s_docs() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in k8s_files() for doc in k8s_docs(path)]


def applied_docs() -> list[dict]:
    """What `kubectl apply -k deploy/k8s` applies (templates excluded)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in k8s_docs(K8S / name)]


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def nameko_services() -> list[str]:
    """Every service package under services/ except the web apps: services/<name>/<name>/."""
    return sorted(p.name for p in (ROOT / "services").iterdir()
                  if p.is_dir() and (p / p.name).is_dir() and p.name not in WEB_APPS)


def nameko_command(service: str) -> list[str]:
    return ["nameko", "run", "--config", NAMEKO_CONFIG, f"{service}.service"]


def allowed_env_vars() -> set[str]:
    contract = (ROOT / "docs" / "CONTRACT.md").read_text()
    names = set(re.findall(r"PUPNS_[A-Z0-9_]*[A-Z0-9]", contract))
    for prefix, rest in re.findall(r"(PUPNS_[A-Z0-9_]+_)([A-Z0-9]+(?:/[A-Z0-9]+)+)", contract):
        names.update(prefix + part for part in rest.split("/"))  # PUPNS_SMTP_HOST/PORT
    config = (ROOT / "libs" / "pupns" / "config.py").read_text()
    names.update(re.findall(r"env\(\s*[\"'](PUPNS_[A-Z0-9_]+)[\"']", config))
    return names | set(DEPLOY_ONLY_VARS)


def container_env_names(container: dict) -> set[str]:
    return {item["name"] for item in container.get("env", [])}


def containers(docs: list[dict]) -> dict[str, dict]:
    """Deployment name -> its single container."""
    found = {}
    for name, deployment in of_kind(docs, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        found[name] = container
    return found


# ---------------------------------------------------------------- schemas
def test_compose_file_is_valid_against_the_compose_specification():
    schema_file = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_compose())]
    assert not errors, errors
    assert "version" not in load_compose()


@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kubernetes_manifest_is_valid_against_the_kubernetes_schemas(path):
    docs = k8s_docs(path)
    assert docs, f"{path} holds no manifest"
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), doc
        assert doc["metadata"].get("name"), doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "pupns", doc["metadata"]
        if doc["kind"] in CUSTOM_RESOURCES.get(doc["apiVersion"], set()):
            assert isinstance(doc.get("spec"), dict) and doc["spec"], f"{doc['kind']} without spec"
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(map(str, exc.path))
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")


def test_operator_custom_resources_point_at_the_cluster_they_configure():
    docs = applied_docs()
    clusters = of_kind(docs, "RabbitmqCluster")
    assert clusters and all(c["spec"]["replicas"] >= 3 for c in clusters.values())
    for doc in docs:
        ref = doc.get("spec", {}).get("rabbitmqClusterReference")
        if ref is not None:
            assert ref["name"] in clusters, doc["metadata"]["name"]
    assert [v["spec"]["defaultQueueType"] for v in of_kind(docs, "Vhost").values()] == ["quorum"]
    (mongo,) = of_kind(docs, "MongoDBCommunity").values()
    assert mongo["spec"]["type"] == "ReplicaSet" and mongo["spec"]["members"] >= 3
    databases_of = {u["connectionStringSecretName"]: {r["db"] for r in u["roles"]} for u in mongo["spec"]["users"]}
    for name, container in containers(docs).items():
        found = [e for e in container["env"] if e["name"] == "PUPNS_MONGO_URI"]
        if name == "pupns-console":  # the console keeps nothing itself: it only calls the services
            assert found == []
            continue
        (mongo_env,) = found
        # least privilege: each process's own user, reading and writing only its own database
        own = name.removeprefix("pupns-")
        assert databases_of[mongo_env["valueFrom"]["secretKeyRef"]["name"]] == {f"pupns_{own}"}, name


def test_kustomization_lists_every_manifest_but_the_templates_and_builds_offline():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    top_level = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == top_level
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: kustomize build not checked")
    built = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    assert len([d for d in yaml.safe_load_all(built.stdout) if d]) == len(applied_docs())


# ---------------------------------------------------------------- consistency with the code
def test_every_nameko_service_has_a_deployment_and_a_compose_service_running_it():
    compose_services = load_compose()["services"]
    deployments = containers(applied_docs())
    with_module = {p.parent.parent.name for p in (ROOT / "services").glob("*/*/service.py")}
    expected = set(nameko_services()) | (with_module - WEB_APPS)
    assert expected >= {"identity", "forms", "verification", "documents", "notifications"}
    for service in sorted(expected):
        assert compose_services[service]["command"] == nameko_command(service), service
        assert deployments[f"pupns-{service}"]["command"] == nameko_command(service), service


def test_web_apps_run_the_same_command_in_compose_and_kubernetes():
    compose_services = load_compose()["services"]
    deployments = containers(applied_docs())
    for app, command in WEB_COMMANDS.items():
        assert compose_services[app]["command"] == command
        assert deployments[f"pupns-{app}"]["command"] == command


def test_image_puts_every_service_package_on_the_python_path_and_runs_unprivileged():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert "pip install -r /app/requirements.txt" in text
    (pythonpath,) = re.findall(r"PYTHONPATH=(\S+)", text)
    entries = pythonpath.split(":")
    assert "/app/libs" in entries
    for package_dir in (ROOT / "services").iterdir():
        if package_dir.is_dir():
            assert f"/app/services/{package_dir.name}" in entries, package_dir.name
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    for source in re.findall(r"^COPY\s+(\S+)\s", text, re.M):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_every_deployment_is_replicated_bounded_and_probed():
    for name, deployment in of_kind(applied_docs(), "Deployment").items():
        assert deployment["spec"]["replicas"] >= 2, name
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["image"].split(":")[0] == IMAGE, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys(), (name, bound)
            assert "readinessProbe" in container and "livenessProbe" in container, name


def test_edge_is_public_autoscaled_and_protected_while_the_console_stays_internal():
    docs = applied_docs()
    edge_labels = of_kind(docs, "Deployment")["pupns-edge"]["spec"]["template"]["metadata"]["labels"]
    assert containers(docs)["pupns-edge"]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    hpa = of_kind(docs, "HorizontalPodAutoscaler")["pupns-edge"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "pupns-edge"}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["minReplicas"] >= 2
    for kind in ("PodDisruptionBudget", "Service"):
        selector = of_kind(docs, kind)["pupns-edge"]["spec"]
        selector = selector["selector"].get("matchLabels", selector["selector"])
        assert selector.items() <= edge_labels.items(), kind
    backends = {path["backend"]["service"]["name"]
                for ingress in of_kind(docs, "Ingress").values()
                for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"pupns-edge"}
    assert of_kind(docs, "Service")["pupns-console"]["spec"]["type"] == "ClusterIP"


def test_compose_runs_two_edge_replicas_gated_on_readyz_and_waits_for_healthy_dependencies():
    services = load_compose()["services"]
    edge = services["edge"]
    assert edge["deploy"]["replicas"] == 2
    assert "/readyz" in " ".join(edge["healthcheck"]["test"])
    assert "ports" not in edge, "replicas cannot share a host port: edge-lb publishes 8000"
    assert services["edge-lb"]["ports"] == ["8000:8000"]
    assert any(port.endswith(":8001") for port in services["console"]["ports"])
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            target = services[dependency]
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dependency}, which has no healthcheck"
            if rule["condition"] == "service_completed_successfully":
                assert target.get("restart") == "no", dependency
    for service in nameko_services() + sorted(WEB_APPS):
        conditions = services[service]["depends_on"]
        assert conditions["rabbitmq"]["condition"] == "service_healthy"
        assert conditions["mongo1"]["condition"] == "service_healthy"
        if service != "console":  # the console keeps nothing: no database connection (as in Kubernetes)
            assert services[service]["environment"]["PUPNS_MONGO_URI"].endswith("/?replicaSet=rs0&authSource=admin")
    for node in ("mongo1", "mongo2", "mongo3"):
        assert services[node]["command"][:3] == ["mongod", "--replSet", "rs0"]


def test_every_environment_variable_given_to_a_process_is_documented():
    allowed = allowed_env_vars()
    given = set()
    for service in load_compose()["services"].values():
        given |= {k for k in (service.get("environment") or {}) if k.startswith("PUPNS_")}
    for container in containers(applied_docs()).values():
        given |= container_env_names(container)
    given |= set(of_kind(applied_docs(), "ConfigMap")["pupns-config"]["data"])
    assert given - allowed == set(), "document these in docs/CONTRACT.md or pupns.config"
    for name, consumer in DEPLOY_ONLY_VARS.items():
        if (ROOT / consumer).exists():
            assert name in (ROOT / consumer).read_text(), f"{consumer} does not read {name}"


def test_compose_interpolation_variables_are_documented_in_the_env_example():
    example = (ROOT / "deploy" / "compose.env.example").read_text()
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert {"PUPNS_JWT_KEYS", "PUPNS_ADMIN_PASSWORD"} <= names
    for name in names:
        assert re.search(rf"^#?\s*{name}=", example, re.M), name


# ---------------------------------------------------------------- secrets
def test_compose_holds_no_secret_values():
    for name, service in load_compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert REQUIRED_INTERPOLATION.match(value), f"{name}.{key} must be ${{VAR:?...}}"
            for _user, password in URI_USERINFO.findall(value):
                assert REQUIRED_INTERPOLATION.match(password), f"{name}.{key} embeds a password"


def test_kubernetes_manifests_hold_no_secret_values():
    for path, doc in all_k8s_docs():
        if doc["kind"] == "Secret":
            assert "data" not in doc, path
            assert all(value == "" for value in doc.get("stringData", {}).values()), path
        if doc["kind"] == "ConfigMap":
            for key, value in doc["data"].items():
                assert not SECRET_NAME.search(key), key
                assert not URI_USERINFO.search(value), key
    for name, container in containers(applied_docs()).items():
        for item in container.get("env", []):
            if SECRET_NAME.search(item["name"]) or item["name"] in {"PUPNS_MONGO_URI", "PUPNS_AMQP_URI"}:
                assert "secretKeyRef" in item.get("valueFrom", {}), f"{name}: {item['name']} must come from a Secret"


def test_secret_template_is_not_applied():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert not [d for d in applied_docs() if d["kind"] == "Secret"]
    assert all(not r.startswith("templates") for r in kustomization["resources"])


# ---------------------------------------------------------------- nameko config and probe
def test_nameko_config_substitutes_the_environment_with_nameko_own_parser():
    script = (
        "import json, logging.config, sys, yaml\n"
        "from nameko.cli.main import setup_yaml_parser\n"
        "setup_yaml_parser()\n"
        "config = yaml.safe_load(open(sys.argv[1]))\n"
        "logging.config.dictConfig(config['LOGGING'])\n"
        "print(json.dumps({k: config[k] for k in ('AMQP_URI', 'max_workers', 'serializer')}))\n"
    )

    def load(env: dict) -> dict:
        done = subprocess.run([sys.executable, "-c", script, str(NAMEKO_YAML)], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert load({}) == {"AMQP_URI": "amqp://guest:guest@localhost:5672/", "max_workers": 10, "serializer": "json"}
    configured = load({"PUPNS_AMQP_URI": "amqp://u:p@rabbitmq:5672/pupns", "PUPNS_MAX_WORKERS": "32"})
    assert configured["AMQP_URI"] == "amqp://u:p@rabbitmq:5672/pupns"
    assert configured["max_workers"] == 32


def test_amqp_probe_sees_only_established_connections_to_the_broker_port():
    sys.path.insert(0, str(ROOT / "deploy" / "docker"))
    try:
        import probe_amqp
    finally:
        sys.path.pop(0)
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001 0 1\n"
        "   1: 0A000005:D2F0 0A000009:1628 01 00000000:00000000 00:00000000 00000000 10001 0 2\n"
        "   2: 0A000005:D2F2 0A000009:6989 06 00000000:00000000 00:00000000 00000000 10001 0 3\n"
    )
    assert probe_amqp.established_remote_ports(table) == {5672}
    assert probe_amqp.broker_port("amqp://u:p@rabbit/pupns") == 5672
    assert probe_amqp.broker_port("amqps://u:p@rabbit:5999/") == 5999
    assert probe_amqp.broker_port("amqps://rabbit/") == 5671
