"""/readyz: a flood of probes costs one check a second, and the answer follows the last check."""
from __future__ import annotations

from edge.operations import health


def test_a_flood_of_probes_costs_one_check_per_second(monkeypatch):
    now, calls = [100.0], []

    def fake_check(amqp_uri: str, mongo_uri: str) -> dict[str, bool]:
        calls.append(now[0])
        return {"broker": len(calls) == 1, "store": True}

    monkeypatch.setattr(health, "check", fake_check)
    ready = health.Readiness(clock=lambda: now[0])
    answers = [health.readiness(ready.results("amqp://x", "mongodb://x")).status_code for _ in range(500)]
    assert answers == [200] * 500 and len(calls) == 1
    now[0] += health.CACHE_SECONDS
    failing = health.readiness(ready.results("amqp://x", "mongodb://x"))
    assert failing.status_code == 503 and failing.json["checks"] == {"broker": "failed", "store": "ok"}
    assert len(calls) == 2


def test_behind_the_public_proxy_health_and_metrics_are_internal_only():
    from tests.unit.test_edge_errors import make_client

    client, _, _ = make_client(proxy_hops=1)
    relayed = {"X-Forwarded-For": "203.0.113.9"}
    for path in ("/healthz", "/readyz", "/metrics"):
        answer = client.get(path, headers=relayed)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found", path
    assert client.get("/healthz").status_code == 200  # a probe on the internal network reaches the pod directly
    assert client.get("/api/v1/openapi.json", headers=relayed).status_code == 200  # the API document is public
