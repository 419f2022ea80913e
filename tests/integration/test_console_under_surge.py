"""The verifier console keeps working while the public edge is saturated (SPEC: overload never becomes failure).

A real gunicorn edge with a tiny capacity and the real console gunicorn process (as `make run` starts
it, on its own port) share one back end over RabbitMQ: test-only nameko `identity` and `verification`
services. Many threads hammer the edge's login far past its capacity, so it answers 503 `queue` to most of
them; meanwhile a verifier logs in to the console several times and loads pages that need back-end RPCs
(identity.issue_token, verification.list_registrations / list_submissions / get_submission /
confirm_registration). Every console answer must be its normal 200 or 303: never a 503, a timeout or a
connection error. The flood runs until the console checks are done, and 503 `queue` answers are seen before,
during every console round and after it.
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
from nameko.rpc import rpc

from edge.surge import tickets
from pupns import auth
from pupns.errors import AppError
from pupns_dev.processes import free_port, stop, wait_for_port
from pupns_dev.waiting import wait_until
from tests.integration.test_edge_gunicorn import ROOT, start_edge
from tests.integration.test_edge_surge import SlowIdentity

VERIFIER, PASSWORD, INSTANSI = "verif_bdg", "rahasia-verifikator", "4011"
NIP = "198001012005011001"
NUMBER = "PUPNS-2015-AAAA1111"
FLOOD_THREADS = 32
ROUNDS = 4
CONFIRMED: list[tuple[str, str]] = []


class BusyIdentity(SlowIdentity):
    """SlowIdentity whose 50 ms logins give real tokens: the flood's PNS ones and the console's verifier one."""

    @rpc
    def issue_token(self, username, password, device=None):
        import eventlet

        eventlet.sleep(0.05)
        if username == VERIFIER:
            if password != PASSWORD:
                raise AppError("invalid_credentials")
            return auth.issue_token(VERIFIER, "verifier", INSTANSI)
        return auth.issue_token(username, "pns", INSTANSI)


class FakeVerification:
    """Stands in for the verification RPCs the console pages call."""

    name = "verification"

    @rpc
    def list_registrations(self, actor, status="pending", cursor=None, limit=50):
        return {"items": [{"nip": NIP, "nama": "Siti Rahayu", "registration_number": NUMBER,
                           "registered_at": "2015-09-01T10:00:00+07:00", "instansi_kode": INSTANSI,
                           "status": "pending"}], "next": None}

    @rpc
    def confirm_registration(self, nip, actor):
        CONFIRMED.append((nip, actor["id"]))
        return {"status": "confirmed"}

    @rpc
    def list_submissions(self, actor, status="submitted", cursor=None, limit=50):
        return {"items": [{"nip": NIP, "nama": "Siti Rahayu", "submitted_at": "2015-10-01T09:00:00+07:00",
                           "anomaly_count": 1}], "next": None}

    @rpc
    def get_submission(self, nip, actor):
        return {"sections": {"data_utama": {"nama": "Siti Rahayu", "nik": "3273014101800001"}}, "roster": {},
                "changes": [], "documents": [],
                "anomalies": [{"code": "nik_nip_mismatch", "message": "NIK tidak sesuai tanggal lahir NIP"}]}


def start_console(tmp_path, amqp_uri):
    """The console exactly as pupns_dev.stack starts it, on a free port of its own."""
    port = free_port()
    log = open(tmp_path / f"console-{port}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-b",
                             f"127.0.0.1:{port}", "console.app:app"], env={**os.environ, "PUPNS_AMQP_URI": amqp_uri},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def platform(tmp_path, runner_factory, rabbit_config, mongo_uri, db_prefix, monkeypatch):
    """(edge URL, console URL): a 2-worker edge letting 2 requests per worker through, and the console."""
    CONFIRMED.clear()
    runner_factory(rabbit_config, BusyIdentity, FakeVerification).start()
    for name, value in {"PUPNS_EDGE_CAPACITY": "2", "PUPNS_EDGE_CAPACITY_MIN": "1", "PUPNS_EDGE_CAPACITY_MAX": "2",
                        "PUPNS_EDGE_LOGIN_BURST": "1000", "PUPNS_EDGE_USER_BURST": "1000"}.items():
        monkeypatch.setenv(name, value)
    edge, edge_base = start_edge(tmp_path, rabbit_config["AMQP_URI"], mongo_uri, db_prefix, workers=2, threads=8)
    try:
        console, console_base = start_console(tmp_path, rabbit_config["AMQP_URI"])
    except BaseException:
        stop(edge)
        raise
    try:
        wait_until(lambda: requests.get(f"{edge_base}/readyz", timeout=5).status_code == 200, timeout=30,
                   message="edge ready")
        wait_until(lambda: requests.get(f"{console_base}/healthz", timeout=5).status_code == 200, timeout=30,
                   message="console serving")
        yield edge_base, console_base
    finally:
        stop(edge)
        stop(console)


@dataclass
class Flood:
    """Threads that log in at the edge as fast as they can, re-presenting their ticket at once when queued."""

    base: str
    done: threading.Event = field(default_factory=threading.Event)
    queued_at: list[float] = field(default_factory=list)  # when each 503 `queue` answer arrived
    others: Counter = field(default_factory=Counter)  # every other answer, by status (or exception name)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int) -> None:
        self.threads = [threading.Thread(target=self._hammer, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _hammer(self) -> None:
        ticket = None
        with requests.Session() as http:
            while not self.done.is_set():
                username = "19900101" + "".join(random.choices("0123456789", k=10))  # no per-username limit
                try:
                    answer = http.post(f"{self.base}/api/v1/auth/token", timeout=30,
                                       json={"username": username, "password": "rahasia-sekali"},
                                       headers={tickets.HEADER: ticket} if ticket else {})
                except Exception as exc:  # counted, and the flood goes on: it must outlast the console checks
                    self.others[type(exc).__name__] += 1
                    continue
                queue = queue_of(answer)
                if queue is not None:
                    self.queued_at.append(time.monotonic())
                    ticket = queue["ticket"]
                else:
                    self.others[answer.status_code] += 1
                    ticket = None

    def wait(self, probe: Callable[[], object], what: str) -> None:
        """Wait (30 s at most) for `probe`; a timeout says what the flood saw."""
        try:
            wait_until(probe, timeout=30, message=what)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; {self.summary()}") from exc

    def queued_between(self, start: float, end: float) -> int:
        return sum(start <= at <= end for at in list(self.queued_at))

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def summary(self) -> str:
        return f"flood: {len(self.queued_at)} x 503 queue, others {dict(self.others)}"


def queue_of(answer: requests.Response) -> dict | None:
    """The `queue` part of a 503 `queue` answer, else None."""
    if answer.status_code != 503:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    return body["queue"] if body.get("error", {}).get("code") == "queue" else None


def expect(answer: requests.Response, status: int, location: str | None = None) -> requests.Response:
    """The console's own answer, never one of the edge's turn-aways."""
    assert answer.status_code == status, f"{answer.request.method} {answer.url}: {answer.status_code} {answer.text}"
    if location is not None:
        assert answer.headers["Location"] == location
    return answer


def verifier_session(console: str, nip: str) -> None:
    """Log in to the console and use the pages that need back-end RPCs; every answer is a normal one."""
    with requests.Session() as http:
        def get(path: str, **kwargs) -> requests.Response:
            return http.get(console + path, timeout=30, allow_redirects=False, **kwargs)

        def post(path: str, data: dict) -> requests.Response:
            return http.post(console + path, data=data, timeout=30, allow_redirects=False)

        login = expect(get("/login"), 200).text
        nonce = re.search(r'name="login_nonce" value="([^"]+)"', login).group(1)
        expect(post("/login", {"username": VERIFIER, "password": PASSWORD, "login_nonce": nonce}), 303,
               "/registrations")
        pending = expect(get("/registrations"), 200).text
        assert "Pendaftaran menunggu konfirmasi" in pending and NUMBER in pending
        csrf = re.search(r'name="csrf" value="([^"]+)"', pending).group(1)
        assert f'href="/submissions/{nip}"' in expect(get("/submissions"), 200).text
        assert "NIK tidak sesuai tanggal lahir NIP" in expect(get(f"/submissions/{nip}"), 200).text
        expect(post(f"/registrations/{nip}/confirm", {"csrf": csrf}), 303,
               f"/registrations?pesan=dikonfirmasi&nip={nip}")
        assert f"Pendaftaran NIP {nip} telah dikonfirmasi." in expect(
            get("/registrations", params={"pesan": "dikonfirmasi", "nip": nip}), 200).text


def during(flood: Flood, check: Callable[[], None]) -> int:
    """Run `check` and return how many 503 `queue` answers the edge gave while it ran."""
    started = time.monotonic()
    check()
    return flood.queued_between(started, time.monotonic())


def test_the_console_serves_a_verifier_while_the_edge_turns_a_surge_away(platform):
    edge, console = platform
    flood = Flood(edge)
    flood.start(FLOOD_THREADS)
    try:
        flood.wait(lambda: flood.queued_at, "the edge queueing the surge")
        # The very login the console is about to take is one the edge turns away right now.
        flood.wait(lambda: queue_of(requests.post(f"{edge}/api/v1/auth/token", timeout=30, json={
            "username": VERIFIER, "password": PASSWORD})), "the verifier's login queued at the edge")
        for round_ in range(ROUNDS):
            turned_away = during(flood, lambda: verifier_session(console, NIP))
            assert turned_away > 0, f"round {round_}: the edge was not saturated during it; {flood.summary()}"
        finished = time.monotonic()
        flood.wait(lambda: flood.queued_between(finished, time.monotonic()), "the edge still queueing afterwards")
        assert all(thread.is_alive() for thread in flood.threads), flood.summary()  # it outlasted the checks
    finally:
        flood.stop()
    assert CONFIRMED == [(NIP, VERIFIER)] * ROUNDS  # every confirm reached the verification service once
    assert not any(thread.is_alive() for thread in flood.threads)
