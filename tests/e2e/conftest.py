"""The whole platform, started once per e2e session on free ports, fresh vhost and memory store."""
from __future__ import annotations

import csv
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from pupns_dev.demo import login, seed_demo
from pupns_dev.processes import free_port
from pupns_dev.stack import OWN_STORES, Stack, StackConfig, delete_vhost, own_store_ports
from pupns_dev.waiting import wait_until
from tests.e2e.browser import browser  # noqa: F401 (the browser tests' fixture)

PASSWORD = "rahasia-sekali-123"
# The e2e tests call the API far faster than one person would: lift the per-user token bucket so the
# audit checks around every rejected call are not themselves rate limited (login limits stay as shipped).
# Unwrapped data keys are cached for 2 s instead of 30 s, so an erasure reaches every process quickly (SPEC §7).
TEST_ENV = {"PUPNS_EDGE_USER_RATE": "1000", "PUPNS_EDGE_USER_BURST": "1000", "PUPNS_KEY_CACHE_TTL": "2"}
# The session's stack outlives a token (15 min): the demo's admin token is renewed before a test once it is older.
ADMIN_TOKEN_RENEW_SECONDS = 600


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """A running PUPNS with a demo roster, verifiers and an open campaign."""
    cfg = StackConfig(
        var=tmp_path_factory.mktemp("stack"), vhost=f"e2e-{uuid.uuid4().hex[:8]}",
        mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(), console_port=free_port(),
        meterai_port=free_port(), store_ports=own_store_ports(free_port() for _ in OWN_STORES),  # as `make run`
        storage=":memory:", jwt_keys=f"e2e:{secrets.token_urlsafe(32)}", admin_password=secrets.token_urlsafe(12),
        extra_env=dict(TEST_ENV))
    running = Stack(cfg)
    running.start(progress=lambda msg: None)
    try:
        demo = seed_demo(cfg, roster_size=60, seed=7, progress=lambda msg: None)
        with demo["roster"].open(newline="", encoding="utf-8") as fh:
            demo["rows"] = list(csv.DictReader(fh))
        demo["admin_token_at"] = time.monotonic()
        yield cfg, demo
    finally:
        running.stop()
        delete_vhost(cfg.vhost)


@pytest.fixture(autouse=True)
def fresh_admin_token(request):
    """Renew `demo["admin_token"]` for a test of the session's stack when it would expire during the test."""
    if "stack" not in request.fixturenames:
        return
    running = request.getfixturevalue("stack")  # a module may define its own `stack` (not this session's)
    if not (isinstance(running, tuple) and isinstance(running[-1], dict) and "admin_token_at" in running[-1]):
        return
    cfg, demo = running
    if time.monotonic() - demo["admin_token_at"] > ADMIN_TOKEN_RENEW_SECONDS:
        demo["admin_token"] = login(cfg, "admin", cfg.admin_password, progress=lambda msg: None)
        demo["admin_token_at"] = time.monotonic()


@pytest.fixture
def api(stack):
    """A requests session bound to the edge's base URL."""
    cfg, _ = stack

    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 30)
            return super().request(method, cfg.edge_url + url, *args, **kwargs)

    with Api() as session:
        yield session


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Platform:
    """Session-wide helpers over HTTP: cached logins, distinct roster rows, PNS in a given state, audit."""

    def __init__(self, cfg: StackConfig, demo: dict):
        self.cfg, self.demo = cfg, demo
        self.http = requests.Session()
        self._tokens: dict[str, tuple[str, float]] = {}
        # rows[0] belongs to test_thin_path; every other test takes its own rows from this pool.
        self._pool = [row for row in demo["rows"][1:]]

    def url(self, path: str) -> str:
        return self.cfg.edge_url + path

    # -- roster rows ------------------------------------------------------------------------
    def take_row(self, where: Callable[[dict], bool] = lambda row: True) -> dict:
        """A roster row no other test has used (and matching `where`)."""
        for index, row in enumerate(self._pool):
            if where(row):
                return self._pool.pop(index)
        raise LookupError("no unused roster row matches; enlarge the demo roster")

    def take_rows_of_one_instansi(self, count: int) -> list[dict]:
        """`count` unused roster rows of one instansi (for what one verifier sees together)."""
        kode = next((k for k, n in Counter(r["instansi_kode"] for r in self._pool).most_common() if n >= count), None)
        if kode is None:
            raise LookupError(f"no instansi has {count} unused roster rows; enlarge the demo roster")
        return [self.take_row(lambda row: row["instansi_kode"] == kode) for _ in range(count)]

    # -- tokens -------------------------------------------------------------------------------
    def token(self, username: str, password: str) -> str:
        """An access token, reused until a minute before it expires (login is rate limited per username)."""
        cached = self._tokens.get(username)
        if cached and cached[1] > time.monotonic():
            return cached[0]

        def attempt() -> dict | None:
            resp = self.http.post(self.url("/api/v1/auth/token"), timeout=30,
                                  json={"username": username, "password": password})
            return resp.json() if resp.status_code == 200 else None
        issued = wait_until(attempt, timeout=60, interval=0.5, message=f"login as {username}")
        self._tokens[username] = (issued["access_token"], time.monotonic() + issued["expires_in"] - 60)
        return issued["access_token"]

    def admin(self) -> dict:
        return bearer(self.token("admin", self.cfg.admin_password))

    def verifier(self, instansi_kode: str) -> dict:
        account = self.demo["verifiers"][instansi_kode]
        return bearer(self.token(account["username"], account["password"]))

    def other_verifier(self, instansi_kode: str) -> dict:
        """A verifier of some other instansi."""
        return self.verifier(next(k for k in sorted(self.demo["verifiers"]) if k != instansi_kode))

    # -- PNS in a state ----------------------------------------------------------------------
    def register(self, row: dict, password: str = PASSWORD) -> dict:
        resp = self.http.post(self.url("/api/v1/registrations"), timeout=30, json={
            "nip": row["nip"], "nik": row["nik"], "email": f"{row['nip']}@contoh.go.id", "password": password})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def wait_pending(self, row: dict) -> None:
        headers = self.verifier(row["instansi_kode"])
        wait_until(lambda: any(i["nip"] == row["nip"] for i in self.http.get(
            self.url("/api/v1/verifier/registrations?status=pending"), headers=headers, timeout=30).json()["items"]),
            timeout=30, interval=0.1, message=f"registration of {row['nip']} queued for the verifier")

    def confirmed_pns(self, row: dict, password: str = PASSWORD) -> dict:
        """Register, confirm as the instansi's verifier, log in, wait for the form: the PNS's auth header."""
        self.register(row, password)
        self.wait_pending(row)
        resp = self.http.post(self.url(f"/api/v1/verifier/registrations/{row['nip']}/confirm"),
                              headers=self.verifier(row["instansi_kode"]), timeout=30)
        assert resp.status_code == 200, resp.text
        headers = bearer(self.token(row["nip"], password))
        wait_until(lambda: self.http.get(self.url("/api/v1/me/form"), headers=headers, timeout=30).status_code
                   == 200, timeout=30, interval=0.1, message=f"form of {row['nip']} opened")
        return headers

    def form(self, headers: dict) -> requests.Response:
        resp = self.http.get(self.url("/api/v1/me/form"), headers=headers, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp

    def submitted_pns(self, row: dict) -> dict:
        """A confirmed PNS whose form is submitted and queued for the verifier."""
        headers = self.confirmed_pns(row)
        resp = self.http.post(self.url("/api/v1/me/form/submit"), headers=headers, timeout=30)
        assert resp.status_code == 200, resp.text
        verifier = self.verifier(row["instansi_kode"])
        wait_until(lambda: any(i["nip"] == row["nip"] for i in self.http.get(
            self.url("/api/v1/verifier/submissions?status=submitted"), headers=verifier, timeout=30)
            .json()["items"]), timeout=30, interval=0.1, message=f"submission of {row['nip']} queued")
        return headers

    # -- audit --------------------------------------------------------------------------------
    def audit(self, nip: str) -> list[dict]:
        resp = self.http.get(self.url(f"/api/v1/admin/audit/{nip}"), headers=self.admin(), timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()["events"]

    def event_count(self) -> int:
        resp = self.http.get(self.url("/api/v1/admin/audit/verify"), headers={**self.admin(), "Prefer": "wait=60"},
                             timeout=90)  # a job: 200 with its result once it ends within the wait
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["broken"] == [], body["broken"]
        return body["events_checked"]

    def settled_event_count(self) -> int:
        """The total once asynchronous work of earlier steps (consumers, e-mails) has stopped adding events."""
        seen: list[int] = []

        def probe() -> int | None:
            seen.append(self.event_count())
            return seen[-1] if len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3] else None
        return wait_until(probe, timeout=60, interval=0.25, message="event log quiet")


@pytest.fixture(scope="session")
def platform(stack):
    cfg, demo = stack
    helper = Platform(cfg, demo)
    yield helper
    helper.http.close()
