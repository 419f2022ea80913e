"""The line is live: a crowd that floods the edge and never comes back (abandoned tabs, bots) keeps nobody out.

A real gunicorn edge (2 workers, capacity 2 each) over a slow back end is flooded by clients that never present
their tickets again. The moment the flood stops, a newcomer is let in at once (capacity is free and nobody who
waits has come back), and the abandoned tickets have all left the line once their Retry-After plus the grace has
passed. The edge tells nobody to wait longer than RETRY_AFTER_MAX here (a minute by default), so that this is
seconds after the flood whatever rate the slow back end served at.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from pupns_dev.processes import stop
from pupns_dev.waiting import wait_until
from tests.integration.test_edge_gunicorn import start_edge
from tests.integration.test_edge_surge import SlowIdentity, check_answer, login

FLOOD_THREADS, FLOOD_SECONDS = 48, 2.0
RETRY_AFTER_MAX, GRACE = 5, 1


@pytest.fixture
def small_edge(tmp_path, runner_factory, rabbit_config, mongo_uri, db_prefix, monkeypatch):
    runner = runner_factory(rabbit_config, SlowIdentity)
    runner.start()
    for name, value in {"PUPNS_EDGE_CAPACITY": "2", "PUPNS_EDGE_CAPACITY_MIN": "1", "PUPNS_EDGE_CAPACITY_MAX": "2",
                        "PUPNS_EDGE_LOGIN_BURST": "100000", "PUPNS_EDGE_TICKET_GRACE": str(GRACE),
                        "PUPNS_EDGE_RETRY_AFTER_MAX": str(RETRY_AFTER_MAX)}.items():
        monkeypatch.setenv(name, value)
    proc, base = start_edge(tmp_path, rabbit_config["AMQP_URI"], mongo_uri, db_prefix, workers=2, threads=8)
    wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200, timeout=30)
    yield base
    stop(proc)


def flood(base: str) -> list[dict]:
    """Cookie-less clients for FLOOD_SECONDS: each request is a newcomer that never comes back."""
    deadline = time.monotonic() + FLOOD_SECONDS

    def client(_: int) -> list[dict]:
        seen = []
        for _ in range(500):  # bounded, and stopped by the deadline long before
            if time.monotonic() > deadline:
                break
            queue = check_answer(login(base))
            if queue:
                seen.append(queue)
        return seen

    with ThreadPoolExecutor(FLOOD_THREADS) as pool:
        return [queue for seen in pool.map(client, range(FLOOD_THREADS)) for queue in seen]


def waiting(base: str) -> int:
    """Holders in line as one worker sees the whole line (its part exactly, the others' as last shared)."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return int(float(re.search(r"^pupns_edge_queue_waiting (\S+)$", text, re.M).group(1)))


def test_a_flood_that_never_comes_back_keeps_nobody_out(small_edge):
    queued = flood(small_edge)
    assert len(queued) > 50 and max(q["position"] for q in queued) > 20  # the line really was long

    newcomer = login(small_edge)  # no wait: the crowd has not come back, so a free place is not kept for it
    assert newcomer.status_code == 200, newcomer.text

    latest = max(q["retry_after"] for q in queued)  # every holder is due back within this: none comes
    assert latest <= RETRY_AFTER_MAX  # nobody is told to wait longer than the cap
    # either worker may answer: each sees the whole line (its own part exactly, the other's as last shared)
    wait_until(lambda: max(waiting(small_edge) for _ in range(4)) == 0, timeout=latest + GRACE + 10, interval=0.2,
               message="every abandoned ticket leaves the line once its time plus the grace has passed")
    assert login(small_edge).status_code == 200
