"""Failed anonymous registrations are limited per client address; successes never are (SPEC Abuse)."""
from __future__ import annotations

from pupns.errors import AppError
from tests.unit.test_edge_errors import REG, make_client


class GuessedBackend:
    """identity.register that refuses every NIK but `right`."""

    def __init__(self, right: str) -> None:
        self.right, self.calls = right, 0

    def call(self, service, method, payload, **kwargs):
        self.calls += 1
        if payload["nik"] != self.right:
            raise AppError("nik_mismatch", fields={"nik": ["NIK tidak sesuai dengan data induk"]})
        return {"registration_number": "PUPNS-2026-ABCDEFGH", "nip": payload["nip"], "nama": "Budi",
                "instansi_nama": "Kota", "status": "pending_confirmation"}


def register(client, nik: str, address: str):
    return client.post("/api/v1/registrations", json={**REG, "nik": nik}, environ_base={"REMOTE_ADDR": address})


def test_thirty_failures_a_minute_from_one_address_then_429_but_successes_still_pass():
    backend = GuessedBackend(right=REG["nik"])
    client, _, _ = make_client(backend)
    answers = [register(client, f"32010141029{i:05d}", "10.0.0.7") for i in range(31)]
    assert [a.status_code for a in answers[:30]] == [422] * 30
    assert answers[30].status_code == 429 and answers[30].json["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[30].headers["Retry-After"]) <= 60
    assert register(client, "3201014101999999", "10.0.0.8").status_code == 422  # another address: its own count
    assert register(client, REG["nik"], "10.0.0.7").status_code == 201  # a success is never limited per address


def test_behind_a_trusted_proxy_the_forwarded_address_counts():
    client, _, _ = make_client(GuessedBackend(right=REG["nik"]), proxy_hops=1,
                               registration_failures_per_minute=2)
    headers = {"X-Forwarded-For": "203.0.113.9, 10.1.1.1"}  # the proxy appended the client it saw
    codes = [client.post("/api/v1/registrations", json={**REG, "nik": "3201014101900009"}, headers=headers,
                         environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
