"""A verifier logs in to the console in headless Chromium and confirms one registration.

Runs without eventlet (PUPNS_TEST_NO_EVENTLET=1): the console runs under gunicorn (gthread) and
the back ends under `nameko run`, each as its own process on a fresh RabbitMQ vhost. identity and
verification are test-only stand-ins (written below to a temporary module) that implement the few
RPCs the console calls, so this test exercises the console, its RPC proxies and the browser flow.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from pupns_dev.processes import free_port, stop, wait_for_port
from pupns_dev.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not os.environ.get("PUPNS_TEST_NO_EVENTLET"),
                                                  reason="browser tests run with PUPNS_TEST_NO_EVENTLET=1")]
CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
FAKES = '''
from nameko.rpc import rpc
from pupns import auth
from pupns.errors import AppError

PENDING = {"198001012005011001": {"nip": "198001012005011001", "nama": "Siti Rahayu",
           "registration_number": "PUPNS-2015-AAAA1111", "registered_at": "2015-09-01T10:00:00+07:00"}}


class Identity:
    name = "identity"

    @rpc
    def issue_token(self, username, password):
        if (username, password) != ("verif_bdg", "rahasia-verifikator"):
            raise AppError("invalid_credentials")
        return auth.issue_token(username, "verifier", "4011")


class Verification:
    name = "verification"

    @rpc
    def list_registrations(self, actor, status="pending", cursor=None, limit=50):
        return {"items": list(PENDING.values()), "next": None}

    @rpc
    def confirm_registration(self, nip, actor):
        if PENDING.pop(nip, None) is None:
            raise AppError("invalid_state")
        return {"status": "confirmed"}
'''


@pytest.fixture
def vhost(rabbit_manager):
    name = f"pupns_e2e_{uuid.uuid4().hex[:10]}"
    rabbit_manager.create_vhost(name)
    rabbit_manager.set_vhost_permissions(name, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    rabbit_manager.delete_vhost(name)


@pytest.fixture
def console_url(vhost, tmp_path, rabbit_manager):
    (tmp_path / "fake_backends.py").write_text(FAKES)
    (tmp_path / "nameko.yaml").write_text(f"AMQP_URI: '{vhost}'\n")
    env = {**os.environ, "PUPNS_AMQP_URI": vhost,
           "PYTHONPATH": os.pathsep.join([str(REPO / "libs"), str(REPO / "services" / "verification")])}
    bin_dir = Path(sys.executable).parent
    backends = subprocess.Popen([str(bin_dir / "nameko"), "run", "--config", "nameko.yaml", "fake_backends"],
                                cwd=tmp_path, env=env, stdout=open(tmp_path / "nameko.log", "wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
    port = free_port()
    console = subprocess.Popen([str(bin_dir / "gunicorn"), "-k", "gthread", "--threads", "8", "-b",
                                f"127.0.0.1:{port}", "console.app:app"], cwd=REPO, env=env,
                               stdout=open(tmp_path / "gunicorn.log", "wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for_port(port, console)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=2).ok, message="console healthy")
        wait_until(lambda: backends_consuming(rabbit_manager, vhost), timeout=30, message="back ends consuming")
        yield url
    finally:
        stop(console)
        stop(backends)


def backends_consuming(rabbit_manager, vhost: str) -> bool:
    queues = rabbit_manager.get_queues(vhost.rsplit("/", 1)[1])
    ready = {q["name"] for q in queues if q.get("consumers", 0) > 0}
    return {"rpc-identity", "rpc-verification"} <= ready


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_verifier_logs_in_and_confirms_a_registration(console_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--headless", "--disable-gpu",
                                           "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{console_url}/registrations")
            expect(page).to_have_url(f"{console_url}/login")
            page.get_by_label("Nama pengguna").fill("verif_bdg")
            page.get_by_label("Kata sandi").fill("rahasia-verifikator")
            page.get_by_role("button", name="Masuk").click()

            expect(page.get_by_role("heading", name="Pendaftaran menunggu konfirmasi")).to_be_visible()
            row = page.get_by_role("row", name="PUPNS-2015-AAAA1111")
            row.get_by_role("button", name="Konfirmasi").click()

            expect(page.get_by_role("status")).to_have_text("Pendaftaran NIP 198001012005011001 telah dikonfirmasi.")
            expect(page.get_by_text("Tidak ada pendaftaran yang menunggu konfirmasi.")).to_be_visible()
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["pupns_console"]["httpOnly"] and cookies["pupns_console"]["sameSite"] == "Strict"
        finally:
            browser.close()
