"""Staff accounts: the administrator lists, disables and enables verifiers; a disabled account's tokens stop."""
from __future__ import annotations

import time

import pytest
from werkzeug.test import Client

from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from pupns.auth import issue_token
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until
from verification.service import VerificationService

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
PASSWORD = "rahasia-negara-1"


@pytest.fixture
def edge(identity, runner_factory, rabbit_config, monkeypatch):
    """The edge wired as in production (real RPC, revocation of disabled staff) over identity and verification."""
    runner_factory(rabbit_config, VerificationService).start()
    monkeypatch.setenv("PUPNS_AMQP_URI", rabbit_config["AMQP_URI"])
    app = create_app(store=MemoryEdgeStore(), settings=Settings(background=False))
    yield Client(app)
    app.backend.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client: Client, username: str) -> tuple[int, str | None]:
    answer = Client(client.application).post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    return answer.status_code, (answer.json or {}).get("access_token")


def test_a_disabled_verifier_is_listed_and_locked_out_within_seconds_then_enabled_again(identity, edge, store_for):
    identity.import_roster(roster_csv(4, seed=3), ADMIN)
    kode = next(generate_rows(4, seed=3))["instansi_kode"]
    identity.create_verifier({"username": "verif.satu", "password": PASSWORD, "instansi_kode": kode}, ADMIN)
    admin = bearer(issue_token("admin", "admin")["access_token"])
    status, token = login(edge, "verif.satu")
    assert status == 200
    assert edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 200

    listed = edge.get(f"/api/v1/admin/verifiers?instansi_kode={kode}", headers=admin).json["items"]
    assert [(v["username"], v["active"], v["instansi_kode"]) for v in listed] == [("verif.satu", True, kode)]
    assert listed[0]["created_at"] and listed[0]["last_login_at"]
    assert edge.get("/api/v1/admin/verifiers?instansi_kode=0000", headers=admin).json["items"] == []
    assert edge.get("/api/v1/admin/verifiers", headers=bearer(token)).status_code == 403

    assert edge.post("/api/v1/admin/verifiers/verif.satu/disable", json={}, headers=admin).status_code == 422
    assert edge.post("/api/v1/admin/verifiers/tidak.ada/disable", json={"reason": "x"},
                     headers=admin).status_code == 404
    disabled_at = time.monotonic()
    assert edge.post("/api/v1/admin/verifiers/verif.satu/disable", json={"reason": "Pindah tugas"},
                     headers=admin).status_code == 200
    wait_until(lambda: edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 401,
               timeout=5, interval=0.1, message="the disabled verifier's token stopped working")
    assert time.monotonic() - disabled_at < 5
    assert login(edge, "verif.satu")[0] == 403
    assert edge.get("/api/v1/admin/verifiers", headers=admin).json["items"][0]["active"] is False

    assert edge.post("/api/v1/admin/verifiers/verif.satu/enable", json={"reason": "Kembali bertugas"},
                     headers=admin).status_code == 200
    assert login(edge, "verif.satu")[0] == 200

    def fresh_token_works() -> str | None:  # a token issued after the disabling (JWT iat counts whole seconds)
        fresh = login(edge, "verif.satu")[1]
        return fresh if edge.get("/api/v1/verifier/registrations", headers=bearer(fresh)).status_code == 200 else None
    wait_until(fresh_token_works, timeout=10, interval=0.3, message="the enabled verifier's new token works")
    assert edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 401  # old stays void
    events = [(e["type"], e["meta"]["actor"]) for e in store_for("identity").read_stream("staff-verif.satu")]
    assert events[1:] == [("StaffAccountDisabled", "admin"), ("StaffAccountEnabled", "admin")]
