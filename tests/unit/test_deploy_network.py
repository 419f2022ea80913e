"""The Kubernetes NetworkPolicies: deny by default, and each opening reaches exactly the pods it names."""
from __future__ import annotations

from tests.unit.test_deploy_manifests import applied_docs, containers, of_kind


def pod_labels() -> dict[str, dict]:
    deployments = of_kind(applied_docs(), "Deployment")
    return {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}


def selected(policy: dict) -> set[str]:
    """Deployments whose pods a policy's podSelector picks."""
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return {name for name, labels in pod_labels().items() if wanted.items() <= labels.items()}


def policies() -> dict[str, dict]:
    return of_kind(applied_docs(), "NetworkPolicy")


def test_ingress_is_denied_by_default_for_every_pod():
    deny = [p for p in policies().values() if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"]


def test_only_the_edge_is_reachable_from_the_public_ingress_and_on_its_serving_port():
    public = [p for p in policies().values() for rule in p["spec"].get("ingress", [])
              for peer in rule.get("from", [])
              if peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
              == "ingress-nginx"]
    assert [selected(p) for p in public] == [{"pupns-edge"}]
    port = containers(applied_docs())["pupns-edge"]["ports"][0]["containerPort"]
    assert [r["ports"][0]["port"] for r in public[0]["spec"]["ingress"]] == [port]


def test_nameko_services_accept_connections_only_from_monitoring():
    services = {name for name, labels in pod_labels().items()
                if labels.get("app.kubernetes.io/component") == "nameko-service"}
    assert len(services) == 5
    for name, policy in policies().items():
        if selected(policy) & services and policy["spec"].get("ingress"):
            peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
            assert peers == [{"namespaceSelector": {"matchLabels": {"pupns.go.id/monitoring": "true"}}}], name


def test_the_console_is_reachable_only_from_the_staff_network():
    console = [p for p in policies().values() if "pupns-console" in selected(p) and p["spec"]["podSelector"]
               and p["metadata"]["name"] != "pupns-metrics-from-monitoring"]
    assert len(console) == 1
    (rule,) = console[0]["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"pupns.go.id/staff-ingress": "true"}}}]
    assert rule["ports"][0]["port"] == containers(applied_docs())["pupns-console"]["ports"][0]["containerPort"]
