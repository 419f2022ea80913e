"""The device cookie: bound to one username, unforgeable, sent only to the login route."""
from __future__ import annotations

from pupns import devices
from tests.unit.test_edge_errors import make_client


def test_a_device_cookie_names_its_device_only_for_its_own_username():
    value = devices.sign("199001012015031001", "abc123")
    assert devices.device_for(value, "19900101 201503 1 001") == "abc123"
    assert devices.device_for(value, "verifikator.3273") is None
    assert devices.device_for(value[:-1] + ("0" if value[-1] != "0" else "1"), "199001012015031001") is None
    assert devices.device_for(None, "x") is None and devices.device_for("garbage", "x") is None


def test_a_successful_login_sets_the_cookie_and_keeps_the_device_id():
    client, backend, _ = make_client()
    answer = client.post("/api/v1/auth/token", json={"username": "verifikator.a01", "password": "p"})
    assert answer.status_code == 200
    header = answer.headers["Set-Cookie"]
    assert header.startswith("pupns_device=") and "HttpOnly" in header and "SameSite=Strict" in header
    device = devices.device_for(header.split(";")[0].split("=", 1)[1], "verifikator.a01")
    assert device
    again = client.post("/api/v1/auth/token", json={"username": "verifikator.a01", "password": "p"})
    assert devices.device_for(again.headers["Set-Cookie"].split(";")[0].split("=", 1)[1], "verifikator.a01") == device
