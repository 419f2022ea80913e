"""Admission control: full edge answers 503 `queue` with a ticket, keeps FIFO order, lets sessions through."""
from __future__ import annotations

import threading
import time

import pytest
from werkzeug.test import Client

from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from edge.surge.tickets import Ticket, sign, verify
from pupns.errors import AppError
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
        if method == "emails_of":
            return []
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
    assert login(bob).json["queue"]["position"] == 2  # a place is free, but alice is first
    assert login(alice).status_code == 200
    newcomer = login(carol)
    assert newcomer.status_code == 503 and newcomer.json["queue"]["position"] == 2  # behind bob, who came back
    assert login(bob).status_code == 200
    assert login(carol).status_code == 200


def test_each_turn_away_is_counted_with_its_cause():
    """Why admission turned a call away, for operators (pupns_edge_turned_away_total{cause}); a full edge's
    turn-aways before routing are counted as route shed."""
    app, client, backend, worker = full_edge()
    alice, bob, carol = Client(app), Client(app), Client(app)

    def counted() -> dict[str, float]:
        return {cause: app.metrics.turned_away.labels(cause=cause)._value.get()
                for cause in ("gate_full", "holder_not_at_head", "kept_for_holders", "session_gate_full")}

    try:
        login(alice), login(bob)  # answered by the shed, before admission's own judgement
        assert sum(counted().values()) == 0
    finally:
        release(worker)
    assert login(bob).status_code == 503  # a place is free, but alice is first
    assert login(alice).status_code == 200
    assert login(carol).status_code == 503  # behind bob, who came back
    assert counted() == {"gate_full": 0, "holder_not_at_head": 1, "kept_for_holders": 1, "session_gate_full": 0}
    assert b'pupns_edge_turned_away_total{cause="kept_for_holders"} 1.0' in client.get("/metrics").data
    admission = app.admission
    admission.inflight = admission.gates()[1]  # calls that passed the shed found the gates full (a race)
    for session in (False, True):
        with pytest.raises(AppError, match="queue"):
            admission.enter(None, session)
    assert counted()["gate_full"] == 1 and counted()["session_gate_full"] == 1


def test_ticket_cookie_keeps_the_place_and_forged_tickets_do_not():
    app, client, backend, worker = full_edge()
    try:
        login(client)  # sets the cookie
        assert login(client).json["queue"]["position"] == 1  # same ticket presented again via cookie
        client.delete_cookie("pupns_queue")
        forged = sign(Ticket(1, "abc", time.time() + 60))  # issued in 1970: older than the ticket TTL
        assert login(client, {"X-Queue-Ticket": forged}).json["queue"]["position"] == 2
        assert login(client, {"X-Queue-Ticket": forged + "x"}).json["queue"]["position"] == 3
    finally:
        release(worker)


def test_a_crowd_that_never_comes_back_leaves_the_line_and_keeps_nobody_out():
    app, client, backend, worker = full_edge()
    admission, now = app.admission, [time.time()]
    admission.wall = lambda: now[0]
    try:
        answers = [login(Client(app)) for _ in range(50)]  # abandoned tabs: never presented again
        assert [a.json["queue"]["position"] for a in answers] == list(range(1, 51))
        assert max(int(a.headers["Retry-After"]) for a in answers) > 1
        assert admission.line.waiting() == 50
    finally:
        release(worker)
    assert login(Client(app)).status_code == 200  # a place is free and nobody who waits has come back: enter
    now[0] += 61 + admission.settings.ticket_grace
    admission.tick()
    assert admission.line.waiting() == 0  # every ticket outlived its Retry-After and the grace


def test_a_holder_back_after_the_grace_has_lost_the_place():
    app, client, backend, worker = full_edge()
    admission, now = app.admission, [time.time()]
    admission.wall = lambda: now[0]
    try:
        first = login(client).json["queue"]
        other = Client(app)
        assert login(other).json["queue"]["position"] == 2
        now[0] += first["retry_after"] + admission.settings.ticket_grace - 0.5
        assert login(other).json["queue"]["position"] == 2  # back in time: keeps the place, told a new time
        now[0] += 1.5  # the first holder is now past Retry-After plus the grace
        admission.tick()  # the monitor's tick drops holders who are late
        late = login(client, {"X-Queue-Ticket": first["ticket"]}).json["queue"]
        assert late["position"] == 2  # now behind the other holder, who is still live
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


def gradient_admission(**kw):
    settings = Settings(background=False, **{"capacity_initial": 40, "capacity_min": 4, "capacity_max": 48, **kw})
    return create_app(backend=object(), store=MemoryEdgeStore(), settings=settings).admission


def window(admission, seconds, n=50, peak=None, busy=None):
    """A window of `n` back-end calls of `seconds`, its peak in flight (default: the limit) and its in-flight
    averaged over time (default: the peak, a gate kept full)."""
    for _ in range(n):
        admission.observe_backend(seconds)
    now = admission.clock()
    peak = peak if peak is not None else int(admission.limit)
    admission.window.peak_inflight = peak
    admission.window.started = admission._changed_at = now - 0.5
    admission.window.inflight_seconds = (busy if busy is not None else peak) * 0.5
    admission._adjust(now)


def test_limit_grows_while_latency_stays_near_its_baseline_up_to_the_ceiling():
    admission = gradient_admission()
    window(admission, 0.010)
    assert admission.baseline == 0.010 and admission.limit > 40
    for _ in range(50):
        window(admission, 0.015)
    assert admission.limit == 48  # never above the ceiling (below the gunicorn threads)
    before = admission.limit
    window(admission, 0.010, peak=2)  # not using the limit: no reason to grow
    assert admission.limit == before


def test_limit_shrinks_in_proportion_to_the_latency_gradient_never_below_the_floor():
    admission = gradient_admission()
    window(admission, 0.010)
    before = admission.limit
    window(admission, 0.025)  # gradient about 2 x 10 / 25 = 0.8 -> about x0.9 (the baseline drifts up a little)
    assert before * 0.88 < admission.limit < before * 0.95
    shrunk = admission.limit
    window(admission, 0.019)  # within the tolerance: no shrink
    assert admission.limit >= shrunk
    for _ in range(12):
        window(admission, 1.0)
    assert admission.limit == 4
    for _ in range(200):  # a back end that stays slow even at the floor: the baseline relearns it
        window(admission, 1.0, peak=4)
    assert admission.baseline > 0.5 and admission.limit > 4


def test_slow_answers_do_not_shrink_a_limit_the_window_left_mostly_unused():
    admission = gradient_admission()
    window(admission, 0.010)
    before = admission.limit
    for _ in range(5):  # five times the baseline, but the gate was used a quarter of the time
        window(admission, 0.050, peak=int(before), busy=before / 4)
    assert admission.limit >= before
    window(admission, 0.050, busy=before * 0.6)  # the same latency with the gate mostly in use: shrink
    assert admission.limit < before


def test_the_window_averages_in_flight_over_time():
    admission = gradient_admission()
    now = [100.0]
    admission.clock = lambda: now[0]
    admission._adjust(now[0])  # a fresh window starting at 100 s
    admission._take()
    now[0] += 0.3
    admission._take()
    now[0] += 0.1
    admission.leave()
    admission.leave()
    now[0] += 0.1  # 1 in flight for 0.3 s, 2 for 0.1 s, none for 0.1 s: 0.5 in-flight-seconds over 0.5 s
    assert admission.window.mean_inflight(admission.inflight, admission._changed_at, now[0]) == pytest.approx(1.0)
    admission._take()
    now[0] += 0.5  # still in flight at the end of the window: counted up to now
    assert admission.window.mean_inflight(admission.inflight, admission._changed_at, now[0]) == pytest.approx(1.0)


def test_after_an_idle_window_the_limit_starts_again_from_its_initial_value():
    admission = gradient_admission(capacity_initial=8, capacity_min=2, capacity_max=6)
    window(admission, 0.010)
    for _ in range(12):
        window(admission, 1.0)
    assert admission.limit == 2  # a slow spell left it at the floor
    admission.inflight = 1
    admission._adjust(admission.clock())  # nothing finished, but a request is still in flight: keep it
    assert admission.limit == 2
    admission.inflight = 0
    admission.window.turned_away = 3
    admission._adjust(admission.clock())  # requests were turned away: not idle
    assert admission.limit == 2
    admission._adjust(admission.clock())  # a whole idle window
    assert admission.limit == 6  # the initial value, within the ceiling


def test_a_few_noisy_samples_do_not_move_the_limit():
    admission = gradient_admission()
    window(admission, 0.010)
    before = admission.limit
    window(admission, 2.0, n=3)
    assert admission.limit >= before


def test_backed_up_rpc_queues_shrink_the_limit():
    admission = gradient_admission(queue_depth_target=100)
    window(admission, 0.010)
    before = admission.limit
    admission.observe_queue_depth(10_000)
    window(admission, 0.010)
    assert admission.limit == before * 0.75


def test_retry_after_follows_the_serving_rate_up_to_the_longest_wait_told(monkeypatch):
    admission = gradient_admission(capacity_initial=4, capacity_min=4, capacity_max=4)  # head: 4 places
    admission.serving_rate = 2.0
    assert [admission.retry_after(p) for p in (1, 4, 5, 24, 1000)] == [1, 1, 1, 10, 60]
    monkeypatch.setenv("PUPNS_EDGE_RETRY_AFTER_MAX", "5")
    admission = gradient_admission(capacity_initial=4, capacity_min=4, capacity_max=4)
    admission.serving_rate = 2.0
    assert [admission.retry_after(p) for p in (5, 12, 1000)] == [1, 4, 5]
    monkeypatch.setenv("PUPNS_EDGE_RETRY_AFTER_MAX", "600")  # never longer than a minute
    assert Settings(background=False).retry_after_max == 60


def test_session_over_the_limit_is_told_to_retry_without_a_place_in_line():
    app, client, backend, worker = full_edge()
    try:
        app.admission.inflight = app.admission.gates()[1]  # every place taken
        answer = client.get("/api/v1/me", headers=bearer())
        assert answer.status_code == 503 and answer.json["queue"]["position"] == 0
        assert answer.headers["Retry-After"] == "1"
        assert app.admission.line.waiting() == 0  # a session takes no place in the line
        app.admission.inflight = 1
        slip = answer.json["queue"]["ticket"]
        anonymous = login(Client(app), {"X-Queue-Ticket": slip})  # a session's slip lets nobody jump the line
        assert anonymous.status_code == 503 and anonymous.json["queue"]["position"] == 1
        assert app.admission.line.waiting() == 1
    finally:
        release(worker)


def test_saturated_edge_turns_away_ticket_holders_before_routing_or_backend():
    app, client, backend, worker = full_edge()
    try:
        ticket = login(client).json["queue"]["ticket"]
        app.admission.inflight = app.admission.gates()[1]
        calls = len(backend.calls)
        for headers in ({"X-Queue-Ticket": ticket}, bearer(), {"Authorization": "Bearer garbage"}):
            answer = client.get("/api/v1/me", headers=headers)
            assert answer.status_code == 503 and answer.json["error"]["code"] == "queue"
            assert answer.json["queue"]["ticket"] and "Retry-After" in answer.headers
        assert len(backend.calls) == calls and app.admission.line.waiting() == 1  # the holder kept one place
        again = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"},
                            headers={"X-Queue-Ticket": ticket})
        assert again.json["queue"]["position"] == 1 and "pupns_queue=" in again.headers["Set-Cookie"]
        assert verify(again.json["queue"]["ticket"], 3600).key == verify(ticket, 3600).key
        metrics = client.get("/metrics").get_data(as_text=True)
        # both logins and the three GETs were turned away at once (edge.operations.metrics.turned_away_at_once)
        assert 'pupns_edge_requests_total{route="shed",status="503"} 5.0' in metrics
        assert 'pupns_edge_request_seconds_count{route="shed"} 5.0' in metrics
        assert 'pupns_edge_admission_rejections_total{reason="queue"}' in metrics
    finally:
        app.admission.inflight = 1
        release(worker)
