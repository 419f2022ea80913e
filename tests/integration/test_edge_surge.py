"""The edge under a surge: a real gunicorn edge (2 workers, tiny capacity) over a slow nameko service.

Far more requests than the edge can take arrive at once. Every answer must be a 2xx, a 503 `queue` with
Retry-After and a ticket, or a 429: never a connection error, a timeout or a 500. The tickets then come
back and are let in first come, first served across both workers (each worker's part of the line is shared
through MongoDB), a newcomer waits behind holders who came back, and a logged-in PNS is served meanwhile.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from nameko.rpc import rpc

from edge.surge import tickets
from pupns_dev.processes import stop
from pupns_dev.waiting import wait_until
from tests.integration.test_edge_gunicorn import start_edge

NIP = "199001012015031001"
BURST = 120


class SlowIdentity:
    """Stands in for identity: every call takes 50 ms of (green) back-end time."""

    name = "identity"

    @rpc
    def ping(self):
        return {"service": "identity", "ok": True}

    @rpc
    def issue_token(self, username, password, device=None):
        import eventlet

        eventlet.sleep(0.05)
        return {"access_token": "t", "token_type": "Bearer", "expires_in": 900, "role": "pns"}

    @rpc
    def get_me(self, nip):
        import eventlet

        eventlet.sleep(0.05)
        return {"nip": nip, "nama": "Budi", "instansi_kode": "A01", "status": "draft", "registration_number": "x",
                "timeline": []}


@pytest.fixture
def surge_edge(tmp_path, runner_factory, rabbit_config, mongo_uri, db_prefix, monkeypatch):
    runner = runner_factory(rabbit_config, SlowIdentity)
    runner.start()
    for name, value in {"PUPNS_EDGE_CAPACITY": "2", "PUPNS_EDGE_CAPACITY_MIN": "1", "PUPNS_EDGE_CAPACITY_MAX": "2",
                        "PUPNS_EDGE_LOGIN_BURST": "1000", "PUPNS_EDGE_USER_BURST": "1000",
                        # This test presents every ticket each round, whatever its Retry-After: a long grace keeps
                        # slow rounds from costing places (losing them is test_edge_line_is_live's subject).
                        "PUPNS_EDGE_TICKET_GRACE": "60"}.items():
        monkeypatch.setenv(name, value)
    proc, base = start_edge(tmp_path, rabbit_config["AMQP_URI"], mongo_uri, db_prefix, workers=2, threads=8)
    wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200, timeout=30)
    yield base
    stop(proc)


def login(base, ticket=None):
    headers = {"X-Queue-Ticket": ticket} if ticket else {}
    return requests.post(f"{base}/api/v1/auth/token", json={"username": NIP, "password": "rahasia-sekali"},
                         headers=headers, timeout=30)


def me(base, token):
    return requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def check_answer(answer):
    """2xx, 429 rate_limited, or 503 queue with Retry-After and a ticket; returns the queue part if queued."""
    assert answer.status_code < 300 or answer.status_code in (429, 503), answer.text
    if answer.status_code == 429:
        assert answer.json()["error"]["code"] in ("rate_limited", "too_many_attempts")
        assert int(answer.headers["Retry-After"]) >= 1
    if answer.status_code == 503:
        body = answer.json()
        assert body["error"]["code"] == "queue", body
        assert int(answer.headers["Retry-After"]) == body["queue"]["retry_after"] >= 1
        assert body["queue"]["ticket"] and body["queue"]["position"] >= 0
        return body["queue"]
    return None


def test_a_surge_gets_only_answers_and_tickets_are_admitted_first_come_first_served(surge_edge):
    from pupns.auth import issue_token

    base = surge_edge
    token = issue_token(NIP, "pns", "A01")["access_token"]
    with ThreadPoolExecutor(48) as pool:  # connection errors and timeouts would raise here
        answers = list(pool.map(lambda _: login(base), range(BURST)))
    queued = [q for q in map(check_answer, answers) if q is not None]
    assert len(queued) >= BURST // 2  # far over a capacity of 2 per worker
    assert sum(a.status_code == 200 for a in answers) >= 1

    # The burst is over and nobody holding a ticket has come back yet: a place is free, so a newcomer is not
    # kept waiting behind tickets that may have been abandoned; a logged-in PNS is served too.
    assert wait_until(lambda: login(base).status_code == 200, timeout=30, message="newcomer served")
    assert wait_until(lambda: me(base, token).status_code == 200, timeout=30, message="session served")

    # Present the tickets again, highest first each round: a ticket is let in only from the head of the line,
    # so once one is in, every lower ticket must be in by the end of the same round (FIFO across both workers).
    by_key = {tickets.verify(q["ticket"], 3600).key: q["ticket"] for q in queued}
    assert len(by_key) == len(queued)  # one place each, no shared counter needed
    pending = [by_key[key] for key in sorted(by_key)]
    admitted: set[str] = set()
    rounds = [0]

    def one_round() -> bool:
        rounds[0] += 1
        for ticket in reversed(pending):
            if ticket in admitted:
                continue
            answer = login(base, ticket)
            if check_answer(answer) is None:
                assert answer.status_code == 200, answer.text
                admitted.add(ticket)
        got = [ticket in admitted for ticket in pending]
        assert got == sorted(got, reverse=True), f"round {rounds[0]}: a later ticket got in before an earlier one"
        return all(got)

    assert not one_round()
    # Holders have come back: once every worker has heard of it (≤ one sync of the line), a newcomer waits
    # behind them instead of taking their place.
    queue = wait_until(lambda: (answer := login(base)).status_code == 503 and check_answer(answer), timeout=5,
                       message="newcomer queued behind returning holders")
    assert queue["position"] >= 2
    wait_until(one_round, timeout=120, interval=0.2, message="every ticket admitted")
    assert rounds[0] > 1  # the line was really served over time, not all at once
