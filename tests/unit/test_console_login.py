"""The console's login: a large body is refused before it is parsed; staff get the device cookie."""
from __future__ import annotations

import io
import re

from tests.unit.test_console_csv import PASSWORD, console


def test_an_oversized_login_body_is_refused_before_it_is_parsed():
    client, backend = console()
    big = {"username": "verif_a1", "password": PASSWORD, "berkas": (io.BytesIO(b"x" * (1024 * 1024)), "x.bin")}
    answer = client.post("/login", data=big, content_type="multipart/form-data")
    assert answer.status_code == 413 and "terlalu besar" in answer.get_data(as_text=True)
    assert backend.calls == []


def test_a_staff_login_sets_the_device_cookie_for_the_login_page_only():
    client, backend = console()
    page = client.get("/login").get_data(as_text=True)
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": "verif_a1", "password": PASSWORD, "login_nonce": nonce})
    assert answer.status_code == 303
    device = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("pupns_device=")]
    assert len(device) == 1 and "Path=/login" in device[0] and "HttpOnly" in device[0]


def test_a_disabled_account_loses_its_console_session():
    from datetime import UTC, datetime

    from werkzeug.test import Client

    from console.app import Console
    from pupns.revocation import Revocations
    from tests.unit.test_console_csv import issue_token
    from tests.unit.test_edge_errors import FakeBackend

    disabled: dict[str, dict] = {}
    client = Client(Console(FakeBackend(**{"identity.issue_token": issue_token, "verification.list_registrations":
                                           {"items": [], "next": None}}),
                            revocations=Revocations(lambda: dict(disabled), clock=iter(range(0, 10**6, 10)).__next__)))
    page = client.get("/login").get_data(as_text=True)
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "verif_a1", "password": PASSWORD, "login_nonce": nonce}
                       ).status_code == 303
    assert client.get("/registrations").status_code == 200
    disabled["verif_a1"] = {"active": False, "since": datetime.now(UTC).isoformat()}
    answer = client.get("/registrations")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login")
