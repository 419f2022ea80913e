"""Staff accounts: the administrator lists, disables and enables verifiers; a disabled account's tokens stop."""
from __future__ import annotations

import time

from werkzeug.test import Client

from pupns.auth import issue_token
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until
from tests.integration.staff_edge import bearer, token_login

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
PASSWORD = "rahasia-negara-1"




def login(client: Client, username: str) -> tuple[int, str | None]:
    return token_login(client, username, PASSWORD)


def test_a_disabled_verifier_is_listed_and_locked_out_within_seconds_then_enabled_again(identity, staff_edge,
                                                                                       store_for):
    identity.import_roster(roster_csv(4, seed=3), ADMIN)
    kode = next(generate_rows(4, seed=3))["instansi_kode"]
    identity.create_verifier({"username": "verif.satu", "password": PASSWORD, "instansi_kode": kode}, ADMIN)
    admin = bearer(issue_token("admin", "admin")["access_token"])
    status, token = login(staff_edge, "verif.satu")
    assert status == 200
    assert staff_edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 200

    listed = staff_edge.get(f"/api/v1/admin/verifiers?instansi_kode={kode}", headers=admin).json["items"]
    assert [(v["username"], v["active"], v["instansi_kode"]) for v in listed] == [("verif.satu", True, kode)]
    assert listed[0]["created_at"] and listed[0]["last_login_at"]
    assert staff_edge.get("/api/v1/admin/verifiers?instansi_kode=0000", headers=admin).json["items"] == []
    assert staff_edge.get("/api/v1/admin/verifiers", headers=bearer(token)).status_code == 403

    assert staff_edge.post("/api/v1/admin/verifiers/verif.satu/disable", json={}, headers=admin).status_code == 422
    assert staff_edge.post("/api/v1/admin/verifiers/tidak.ada/disable", json={"reason": "x"},
                     headers=admin).status_code == 404
    disabled_at = time.monotonic()
    assert staff_edge.post("/api/v1/admin/verifiers/verif.satu/disable", json={"reason": "Pindah tugas"},
                     headers=admin).status_code == 200
    wait_until(lambda: staff_edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 401,
               timeout=5, interval=0.1, message="the disabled verifier's token stopped working")
    assert time.monotonic() - disabled_at < 5
    assert login(staff_edge, "verif.satu")[0] == 403
    assert staff_edge.get("/api/v1/admin/verifiers", headers=admin).json["items"][0]["active"] is False

    assert staff_edge.post("/api/v1/admin/verifiers/verif.satu/enable", json={"reason": "Kembali bertugas"},
                     headers=admin).status_code == 200
    assert login(staff_edge, "verif.satu")[0] == 200

    def fresh_token_works() -> str | None:  # a token issued after the disabling (JWT iat counts whole seconds)
        fresh = login(staff_edge, "verif.satu")[1]
        answer = staff_edge.get("/api/v1/verifier/registrations", headers=bearer(fresh))
        return fresh if answer.status_code == 200 else None
    wait_until(fresh_token_works, timeout=10, interval=0.3, message="the enabled verifier's new token works")
    assert staff_edge.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 401  # old stays void
    events = [(e["type"], e["meta"]["actor"]) for e in store_for("identity").read_stream("staff-verif.satu")]
    assert events[1:] == [("StaffAccountDisabled", "admin"), ("StaffAccountEnabled", "admin")]
