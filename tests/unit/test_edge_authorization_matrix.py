"""The authorization matrix, generated from the route table: every protected route x every kind of caller.

No token, a forged token, an expired token, a token for another audience and every role the route does not
allow must be refused (401 for the first four, 403 for a wrong role) before the back end is called; every role
it allows gets past authorization. Routes added to the table are covered without editing this test.
"""
from __future__ import annotations

import re
import time

import jwt
import pytest

from edge.http.routes import api_routes
from pupns import config
from pupns.auth import AUDIENCE, ISSUER, ROLES, issue_token
from tests.unit.test_edge_errors import make_client

PROTECTED = [route for route in api_routes() if route.roles]
PARAMS = {"nip": "199001012015031001", "key": "data_utama", "id": "identity-job-1", "username": "verif.a",
          "registration_number": "PUPNS-2026-ABCDEFGH"}


def url_of(route) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PARAMS.get(m.group(1), "x"), route.path)


def crafted(role: str = "pns", **claims) -> str:
    kid = config.jwt_active_kid()
    now = int(time.time())
    body = {"sub": "199001012015031001", "role": role, "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 60,
            "instansi_kode": "A01", **claims}
    return jwt.encode(body, config.jwt_keys()[kid], algorithm="HS256", headers={"kid": kid})


CALLERS = {
    "no token": None,
    "forged": jwt.encode({"sub": "x", "role": "admin", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 60},
                         "not-the-platform-key-" * 3, algorithm="HS256", headers={"kid": config.jwt_active_kid()}),
    "expired": crafted("admin", iat=int(time.time()) - 120, exp=int(time.time()) - 60),
    "wrong audience": crafted("admin", aud="another-system"),
}


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.endpoint)
@pytest.mark.parametrize("caller", list(CALLERS))
def test_a_bad_token_is_401_before_any_back_end_call(route, caller):
    client, backend, _ = make_client()
    token = CALLERS[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = client.open(url_of(route), method=route.method, headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized", caller
    assert backend.calls == []


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.endpoint)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_let_through_or_refused_as_the_route_table_says(route, role):
    client, backend, _ = make_client()
    token = issue_token("199001012015031001" if role == "pns" else f"{role}.a", role,
                        "A01" if role != "admin" else None)["access_token"]
    answer = client.open(url_of(route), method=route.method, headers={"Authorization": f"Bearer {token}"})
    if role in route.roles:
        assert answer.status_code not in (401, 403), (role, answer.status_code, answer.get_data(as_text=True)[:200])
    else:
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", role
        assert backend.calls == []
