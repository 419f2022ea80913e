"""Ganti kata sandi in the console over real RabbitMQ RPC and the real identity service (Werkzeug's Client):
CSRF-checked, errors in Bahasa Indonesia, the session goes on with a fresh token while another session of the same
account, opened with the old password, ends within seconds."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from console.app import Console
from console.rpc import Backend
from console.session import SESSION_COOKIE
from pupns.revocation import Revocations
from pupns_dev.waiting import wait_until
from tests.integration.pages import console_login, csrf_of, text

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
OLD, NEW = "rahasia-konsol-1", "rahasia-konsol-baru-2"


@pytest.fixture
def console(identity, rabbit_config):
    """The console as production wires it: real RPC, and revocation of staff tokens."""
    backend = Backend(rabbit_config["AMQP_URI"], timeout=60)
    app = Console(backend, Revocations(lambda: backend.call("identity", "revoked_staff")))
    yield app
    backend.close()


def login(client: Client, username: str, password: str):
    return console_login(client, username, password)


def test_a_verifier_changes_their_password_in_the_console(identity, console, store_for):
    identity.create_verifier({"username": "verif.konsol", "password": OLD, "instansi_kode": "4011"}, ADMIN)
    mine, elsewhere = Client(console), Client(console)
    assert login(mine, "verif.konsol", OLD).status_code == 303
    assert login(elsewhere, "verif.konsol", OLD).status_code == 303
    assert elsewhere.get("/kata-sandi").status_code == 200

    form = mine.get("/kata-sandi")  # (the other pages need verification, which this test does not run)
    assert form.status_code == 200 and "<h1>Ganti kata sandi</h1>" in text(form)
    assert '<a href="/kata-sandi">Ganti kata sandi</a>' in text(form)  # in the console's navigation
    csrf = csrf_of(text(form))

    def change(current: str, new: str, again: str, token: str = csrf):
        return mine.post("/kata-sandi", data={"csrf": token, "kata_sandi_lama": current, "kata_sandi_baru": new,
                                              "konfirmasi": again})

    forged = change(OLD, NEW, NEW, token="palsu")
    assert forged.status_code == 403 and "Formulir kedaluwarsa atau tidak sah" in text(forged)
    wrong = change("bukan-sandinya-9", NEW, NEW)
    assert wrong.status_code == 401 and "Kata sandi saat ini salah." in text(wrong)
    assert 'name="kata_sandi_lama" type="password" required autocomplete="current-password" aria-invalid="true"' \
        in text(wrong)
    differ = change(OLD, NEW, NEW + "x")
    assert differ.status_code == 422 and "Konfirmasi kata sandi baru tidak sama." in text(differ)
    weak = change(OLD, "12345", "12345")
    assert weak.status_code == 422 and "kata sandi minimal 10 karakter" in text(weak)
    assert [e["type"] for e in store_for("identity").read_stream("staff-verif.konsol")] == ["StaffAccountCreated"]

    done = change(OLD, NEW, NEW)
    assert done.status_code == 303 and done.headers["Location"] == "/kata-sandi?pesan=sandi_diganti"
    assert SESSION_COOKIE in done.headers.get("Set-Cookie", "")
    assert "Kata sandi Anda telah diganti." in text(mine.get("/kata-sandi?pesan=sandi_diganti"))
    wait_until(lambda: elsewhere.get("/kata-sandi").status_code == 303, timeout=5, interval=0.1,
               message="the other session, opened with the old password, ended")
    assert mine.get("/kata-sandi").status_code == 200  # this session goes on with its fresh token

    assert login(Client(console), "verif.konsol", OLD).status_code == 401
    assert login(Client(console), "verif.konsol", NEW).status_code == 303
    last = store_for("identity").read_stream("staff-verif.konsol")[-1]
    assert (last["type"], last["meta"]["actor"], last["data"]["reset"]) == ("StaffPasswordChanged", "verif.konsol",
                                                                            False)
