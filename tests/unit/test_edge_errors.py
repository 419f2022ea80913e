"""The edge's one error path: every rule of SPEC §4 "Other rules", with a fake back end."""
from __future__ import annotations

import io
import threading
import time

import jwt
import pytest
from nameko.exceptions import MethodNotFound
from werkzeug.test import Client

from edge import rpc
from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from pupns import config
from pupns.auth import issue_token
from pupns.errors import AppError


class FakeBackend:
    """Answers RPCs from a table of values or callables; records every call."""

    def __init__(self, **answers):
        self.answers = answers
        self.calls: list[tuple] = []

    def call(self, service, method, *args, **kwargs):
        self.calls.append((service, method, args, kwargs))
        answer = self.answers.get(f"{service}.{method}")
        if callable(answer):
            return answer(*args, **kwargs)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def make_client(backend=None, **settings):
    backend = backend or FakeBackend()
    app = create_app(backend=backend, store=MemoryEdgeStore(), settings=Settings(background=False, **settings))
    return Client(app), backend, app


def bearer(role="pns", sub="199001012015031001", instansi="A01", ttl=None):
    return {"Authorization": "Bearer " + issue_token(sub, role, instansi, ttl=ttl)["access_token"]}


REG = {"nip": "199001012015031001", "nik": "3201014101900001", "email": "a@b.id", "password": "rahasia-sekali"}


def test_unknown_path_is_404_envelope():
    client, _, _ = make_client()
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_405_envelope_with_allow():
    client, _, _ = make_client()
    response = client.delete("/api/v1/registrations")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400():
    client, backend, _ = make_client()
    response = client.post("/api/v1/registrations", data=b"{nip:", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"
    assert backend.calls == []


def test_wrong_content_type_is_415():
    client, _, _ = make_client()
    response = client.post("/api/v1/registrations", data=b"nip=1", content_type="text/plain")
    assert response.status_code == 415 and response.json["error"]["code"] == "unsupported_type"


def test_json_over_64k_is_413_by_length_and_by_read():
    client, backend, _ = make_client()
    big = b'{"nip": "' + b"1" * (65 * 1024) + b'"}'
    response = client.post("/api/v1/registrations", data=big, content_type="application/json")
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"
    chunked = client.post("/api/v1/registrations", input_stream=io.BytesIO(big),
                          headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})  # as gunicorn does
    assert chunked.status_code == 413
    assert backend.calls == []


def test_csv_over_limit_is_413_and_wrong_type_415():
    client, backend, _ = make_client(max_csv_bytes=1000)
    admin = bearer("admin", "admin", None)
    response = client.post("/api/v1/admin/roster", data=b"x" * 2000, content_type="text/csv", headers=admin)
    assert response.status_code == 413
    response = client.post("/api/v1/admin/roster", data=b"nip\n1", content_type="application/json", headers=admin)
    assert response.status_code == 415
    assert backend.calls == []


def test_unknown_field_is_422_with_fields():
    client, backend, _ = make_client()
    response = client.post("/api/v1/registrations", json={**REG, "role": "admin"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["fields"]["role"] == ["Kolom tidak dikenal."]
    assert backend.calls == []


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": "Basic abc"},
])
def test_missing_or_garbage_token_is_401(headers):
    client, _, _ = make_client()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_forged_expired_and_wrong_audience_tokens_are_401():
    client, _, _ = make_client()
    kid = config.jwt_active_kid()
    now = int(time.time())
    claims = {"sub": "1", "role": "pns", "aud": "pupns", "iss": "pupns-identity", "iat": now, "exp": now + 60}
    forged = jwt.encode(claims, "not-the-key-but-long-enough-32-bytes!", algorithm="HS256", headers={"kid": kid})
    wrong_aud = jwt.encode({**claims, "aud": "other"}, config.jwt_keys()[kid], algorithm="HS256",
                           headers={"kid": kid})
    for token in (forged, wrong_aud):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(ttl=-30)).status_code == 401


def test_wrong_role_is_403():
    client, backend, _ = make_client()
    assert client.get("/api/v1/admin/progress", headers=bearer("pns")).json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/verifier/registrations", headers=bearer("pns")).status_code == 403
    assert client.get("/api/v1/me", headers=bearer("verifier", "v1")).status_code == 403
    assert backend.calls == []


def test_missing_if_match_is_428():
    client, backend, _ = make_client()
    response = client.put("/api/v1/me/form/sections/data_utama", json={"nama": "X"}, headers=bearer())
    assert response.status_code == 428 and response.json["error"]["code"] == "precondition_required"
    assert backend.calls == []


def test_app_error_from_a_service_keeps_status_fields_and_extra():
    conflict = AppError("version_conflict", extra={"version": 7})
    invalid = AppError("validation_error", fields={"nik": ["NIK harus 16 digit"]})
    client, _, _ = make_client(FakeBackend(**{"forms.save_section": conflict, "identity.register": invalid}))
    response = client.put("/api/v1/me/form/sections/data_utama", json={"nama": "X"},
                          headers={**bearer(), "If-Match": '"6"'})
    assert response.status_code == 409 and response.json["version"] == 7
    response = client.post("/api/v1/registrations", json=REG)
    assert response.status_code == 422 and response.json["error"]["fields"] == {"nik": ["NIK harus 16 digit"]}


def test_rpc_timeout_is_503_unavailable_with_retry_after():
    client, _, _ = make_client(FakeBackend(**{"identity.get_me": rpc.unavailable()}))
    response = client.get("/api/v1/me", headers=bearer())
    assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_missing_rpc_method_is_501_not_implemented():
    def missing(*args, **kwargs):
        raise MethodNotFound("progress")

    backend = rpc.NamekoBackend.__new__(rpc.NamekoBackend)  # only its translation, no broker
    backend._broken_until, backend.observer, backend._local = 0.0, None, threading.local()
    backend._proxy = lambda: {"identity": type("S", (), {"progress": staticmethod(missing)})()}
    client, _, _ = make_client(backend)
    response = client.get("/api/v1/admin/progress", headers=bearer("admin", "admin", None))
    assert response.status_code == 501 and response.json["error"]["code"] == "not_implemented"


def test_unexpected_exception_is_500_envelope_without_trace():
    def boom(*args, **kwargs):
        raise KeyError("secret internals")

    client, _, _ = make_client(FakeBackend(**{"identity.get_me": boom}))
    response = client.get("/api/v1/me", headers=bearer())
    assert response.status_code == 500
    assert response.json == {"error": {"code": "internal_error", "message": "Terjadi kesalahan pada sistem."}}
    assert b"Traceback" not in response.data and b"secret" not in response.data


def test_rate_limited_user_gets_429_with_retry_after():
    client, _, _ = make_client(FakeBackend(**{"identity.get_me": {"nip": "1"}}), user_rate=0.01, user_burst=2)
    statuses = [client.get("/api/v1/me", headers=bearer()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/me", headers=bearer())
    assert response.json["error"]["code"] == "rate_limited" and "Retry-After" in response.headers


def test_login_rate_limit_is_per_username_not_per_address():
    client, backend, app = make_client(FakeBackend(**{"identity.issue_token": {"access_token": "t"}}),
                                       login_rate=0.01, login_burst=1)
    assert client.post("/api/v1/auth/token", json={"username": "u1", "password": "p"}).status_code == 200
    other = Client(app)  # another client without u1's device cookie: the username's shared rate is used up
    assert other.post("/api/v1/auth/token", json={"username": "u1", "password": "p"}).status_code == 429
    assert client.post("/api/v1/auth/token", data={"username": "u2", "password": "p"}).status_code == 200
    assert len(backend.calls) == 2
