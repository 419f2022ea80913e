"""Admission control: full edge answers 503 `queue` with a ticket, keeps FIFO order, lets sessions through."""
from __future__ import annotations

import threading

from werkzeug.test import Client

from edge.app import create_app
from edge.settings import Settings
from edge.store import MemoryEdgeStore
from edge.tickets import Ticket, sign
from tests.unit.test_edge_errors import REG, bearer

RELEASE = threading.Event()


class BlockingBackend:
    """Holds every call until RELEASE is set (keeps in-flight slots busy)."""

    def __init__(self):
        self.calls = []
        self.entered = threading.Semaphore(0)

    def call(self, service, method, *args, **kwargs):
        self.calls.append((service, method))
        if method == "register":
            self.entered.release()
            RELEASE.wait(10)
        return {"access_token": "t", "nip": "1"}


def full_edge(capacity=1):
    backend = BlockingBackend()
    settings = Settings(background=False, capacity_initial=capacity, capacity_min=1)
    app = create_app(backend=backend, store=MemoryEdgeStore(), settings=settings)
    client = Client(app)
    RELEASE.clear()
    worker = threading.Thread(target=lambda: client.post("/api/v1/registrations", json=REG))
    worker.start()
    assert backend.entered.acquire(timeout=10)
    return app, client, backend, worker


def release(worker):
    RELEASE.set()
    worker.join(10)


def login(client, headers=None):
    return client.post("/api/v1/auth/token", json={"username": "u", "password": "p"}, headers=headers or {})


def test_over_capacity_answers_queue_immediately_without_backend_call():
    app, client, backend, worker = full_edge()
    try:
        response = login(client)
        assert response.status_code == 503
        body = response.json
        assert body["error"]["code"] == "queue"
        assert body["queue"]["position"] == 1 and body["queue"]["ticket"]
        assert response.headers["Retry-After"] == str(body["queue"]["retry_after"])
        assert backend.calls == [("identity", "register")]  # no issue_token, so no password hash
    finally:
        release(worker)


def test_tickets_are_admitted_in_order():
    app, client, backend, worker = full_edge()
    alice, bob, carol = Client(app), Client(app), Client(app)  # each keeps its own cookie
    try:
        assert login(alice).json["queue"]["position"] == 1
        assert login(bob).json["queue"]["position"] == 2
    finally:
        release(worker)
    app.admission.tick()  # one place freed: the head of the line is called
    assert app.store.serving == 1
    assert login(bob).json["queue"]["position"] == 1
    assert login(alice).status_code == 200
    newcomer = login(carol)
    assert newcomer.status_code == 503 and newcomer.json["queue"]["position"] == 2  # behind bob
    app.admission.tick()
    assert login(bob).status_code == 200


def test_ticket_cookie_keeps_the_place_and_forged_tickets_do_not():
    app, client, backend, worker = full_edge()
    try:
        login(client)  # sets the cookie
        assert login(client).json["queue"]["position"] == 1  # same ticket presented again via cookie
        client.delete_cookie("pupns_queue")
        forged = sign(Ticket(1, 0))  # expired issue time
        assert login(client, {"X-Queue-Ticket": forged + "x"}).json["queue"]["position"] == 2
    finally:
        release(worker)


def test_authenticated_session_bypasses_the_queue():
    app, client, backend, worker = full_edge()
    try:
        assert client.get("/api/v1/me", headers=bearer()).status_code == 200
        assert client.get("/api/v1/verifier/registrations", headers=bearer("verifier", "v", "A")).status_code == 200
        assert client.get("/healthz").status_code == 200
    finally:
        release(worker)


def test_browser_gets_a_self_refreshing_waiting_page_in_indonesian():
    app, client, backend, worker = full_edge()
    try:
        response = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"},
                               headers={"Accept": "text/html"})
        page = response.get_data(as_text=True)
        assert response.status_code == 503 and response.mimetype == "text/html"
        assert 'http-equiv="refresh"' in page and "antrean" in page
        assert "pupns_queue=" in response.headers["Set-Cookie"]
    finally:
        release(worker)


def test_capacity_shrinks_when_backend_is_slow_and_grows_when_busy_and_fast():
    settings = Settings(background=False, capacity_initial=100, latency_target=0.1)
    app = create_app(backend=object(), store=MemoryEdgeStore(), settings=settings)
    admission = app.admission
    admission.observe_backend(0.5)
    admission._adjust(admission.clock() + 1)
    assert admission.limit == 75
    admission.window.peak_inflight = 75
    admission.observe_backend(0.01)
    admission._adjust(admission.clock() + 2)
    assert admission.limit > 75
    admission.observe_queue_depth(10_000)
    before = admission.limit
    admission._adjust(admission.clock() + 3)
    assert admission.limit < before
