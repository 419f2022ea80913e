"""Staff password change (issue 11 item 2) through the staff_edge and the CLI, over the real identity service: the old
password is refused, the new one accepted, tokens issued before the change stop working, and the change is in the
account's audited stream with who made it."""
from __future__ import annotations

import io

from werkzeug.test import Client

from pupns.auth import issue_token
from pupns.personal import ERASED
from pupns_cli import rpc as cli_rpc
from pupns_cli.__main__ import main as cli_main
from pupns_dev.waiting import wait_until
from tests.integration.staff_edge import bearer, token_login

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
OLD, NEW, RESET = "rahasia-negara-1", "rahasia-baru-22", "diatur-admin-333"




login = token_login


def works(client: Client, token: str | None) -> bool:
    return client.get("/api/v1/verifier/registrations", headers=bearer(token)).status_code == 200


def test_a_verifier_changes_their_password_over_the_api_and_older_tokens_stop(identity, staff_edge, store_for):
    identity.create_verifier({"username": "verif.sandi", "password": OLD, "instansi_kode": "4011"}, ADMIN)
    status, token = login(staff_edge, "verif.sandi", OLD)
    assert status == 200 and works(staff_edge, token)
    url = "/api/v1/auth/password"

    wrong = staff_edge.post(url, json={"current_password": "bukan-sandinya", "new_password": NEW},
                            headers=bearer(token))
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_credentials"
    weak = staff_edge.post(url, json={"current_password": OLD, "new_password": "pendek"}, headers=bearer(token))
    assert weak.status_code == 422 and weak.json["error"]["code"] == "validation_error"
    assert "new_password" in weak.json["error"]["fields"]
    assert staff_edge.post(url, json={"current_password": OLD}, headers=bearer(token)).status_code == 422
    assert staff_edge.post(url, json={"current_password": OLD, "new_password": NEW}).status_code == 401
    pns = issue_token("199001012015031001", "pns", "4011")["access_token"]
    as_pns = staff_edge.post(url, json={"current_password": OLD, "new_password": NEW}, headers=bearer(pns))
    assert as_pns.status_code == 403
    assert [e["type"] for e in store_for("identity").read_stream("staff-verif.sandi")] == ["StaffAccountCreated"]

    changed = staff_edge.post(url, json={"current_password": OLD, "new_password": NEW}, headers=bearer(token))
    assert changed.status_code == 200, changed.json
    assert changed.json["username"] == "verif.sandi" and changed.json["changed_at"]
    fresh = changed.json["access_token"]
    wait_until(lambda: not works(staff_edge, token), timeout=5, interval=0.1,
               message="the token issued before the change stopped working")
    assert works(staff_edge, fresh)  # the answer's own token was issued after the change
    assert login(staff_edge, "verif.sandi", OLD)[0] == 401
    status, newest = login(staff_edge, "verif.sandi", NEW)
    assert status == 200 and works(staff_edge, newest)

    stored = store_for("identity").read_stream("staff-verif.sandi")
    assert [(e["type"], e["meta"]["actor"], e["meta"]["role"]) for e in stored[1:]] == [
        ("StaffPasswordChanged", "verif.sandi", "verifier")]
    data = stored[-1]["data"]
    assert data["reset"] is False and data["password_hash"].startswith("enc:")  # sealed, as at creation
    assert NEW not in str(stored[-1])


def test_an_administrator_sets_a_verifiers_password_from_the_cli(identity, staff_edge, store_for, monkeypatch, capsys):
    identity.create_verifier({"username": "verif.lupa", "password": OLD, "instansi_kode": "4011"}, ADMIN)
    token = login(staff_edge, "verif.lupa", OLD)[1]
    assert works(staff_edge, token)

    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    assert cli_main(["staff", "set-password", "verif.lupa"]) == 1  # the registration policy: 422
    assert "validation_error" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{RESET}\n"))
    assert cli_main(["staff", "set-password", "tidak.ada"]) == 1
    assert "not_found" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{RESET}\n"))
    assert cli_main(["staff", "set-password", "verif.lupa"]) == 0
    assert "verif.lupa" in capsys.readouterr().out

    wait_until(lambda: not works(staff_edge, token), timeout=5, interval=0.1,
               message="the verifier's token issued before the reset stopped working")
    assert login(staff_edge, "verif.lupa", OLD)[0] == 401
    assert works(staff_edge, login(staff_edge, "verif.lupa", RESET)[1])
    last = store_for("identity").read_stream("staff-verif.lupa")[-1]
    assert (last["type"], last["data"]["reset"]) == ("StaffPasswordChanged", True)
    assert (last["meta"]["actor"], last["meta"]["role"]) == (cli_rpc.cli_actor()["id"], "admin")


def test_the_sealed_hash_of_a_changed_password_opens_only_as_the_new_password(identity, store_for):
    """The read model holds the new hash sealed under the account's staff subject, as creation does."""
    from identity.adapters import Deps
    from identity.commands.login import stored_hash
    from pupns.passwords import verify_password

    identity.create_verifier({"username": "verif.segel", "password": OLD, "instansi_kode": "4011"}, ADMIN)
    identity.set_staff_password("verif.segel", RESET, ADMIN)
    deps = Deps.of(store_for("identity"))
    opened = stored_hash(deps, deps.read.staff("verif.segel"), "verif.segel", "verifier")
    assert opened is not ERASED and opened.startswith("$argon2id$")
    assert verify_password(RESET, opened) and not verify_password(OLD, opened)
