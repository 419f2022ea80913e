"""The edge's half of the verifier scope rule on `{nip}`: verification's 403 stays 403 unless the NIP is on the
verifier's own roster (then 404), and every refusal costs the same roster question (no NIP oracle)."""
from __future__ import annotations

import pytest

from pupns.errors import AppError
from tests.unit.test_edge_errors import FakeBackend, bearer, make_client

NIP = "199001012015031001"
ROUTES = [("post", f"/api/v1/verifier/registrations/{NIP}/confirm", None),
          ("post", f"/api/v1/verifier/registrations/{NIP}/reject", {"reason": "Bukan pegawai kami."}),
          ("get", f"/api/v1/verifier/submissions/{NIP}", None),
          ("post", f"/api/v1/verifier/submissions/{NIP}/approve", None),
          ("post", f"/api/v1/verifier/submissions/{NIP}/return", {"notes": {"data_utama": "Periksa."}})]


def refusing(own: bool) -> FakeBackend:
    def refuse(*args, **kwargs):
        raise AppError("forbidden")
    methods = ("confirm_registration", "reject_registration", "get_submission", "approve_submission",
               "return_submission")
    return FakeBackend(**{f"verification.{m}": refuse for m in methods}, **{"identity.in_own_instansi": {"own": own}})


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_refused_nip_is_404_only_on_the_verifiers_own_roster(method, path, body):
    answers = {}
    for own in (True, False):
        client, backend, _ = make_client(refusing(own))
        resp = getattr(client, method)(path, json=body, headers=bearer("verifier", "verif-a01", "A01"))
        answers[own] = (resp.status_code, resp.json["error"]["code"])
        assert [(s, m) for s, m, *_ in backend.calls][-1] == ("identity", "in_own_instansi")
        assert backend.calls[-1][2][0] == NIP
    assert answers == {True: (404, "not_found"), False: (403, "forbidden")}


def test_an_admin_is_never_asked_about_the_roster():
    client, backend, _ = make_client(refusing(True))
    resp = client.post(f"/api/v1/verifier/submissions/{NIP}/approve", headers=bearer("admin", "admin", None))
    assert resp.status_code == 403 and [m for _, m, *_ in backend.calls] == ["approve_submission"]
