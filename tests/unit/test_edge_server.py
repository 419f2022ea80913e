"""The edge's ASGI front: a full edge's turn-aways are answered on the event loop, everything else in threads."""
from __future__ import annotations

import asyncio
import json

from edge.http.app import LazyApp
from edge.http.server import HANDED, EdgeFront, shed_environ
from edge.surge.tickets import verify
from tests.unit.test_edge_admission import full_edge, release


class Threads:
    """Stands in for a2wsgi's pool: records what reached it and answers 200; a thread begins each call at once
    unless `begin` is False (the call then stays pending, as on a busy machine)."""

    def __init__(self, front, begin=True):
        self.front, self.begin, self.paths = front, begin, []
        self.go_on = None  # an asyncio.Event to wait for before answering, if set

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        if self.begin and scope.get(HANDED) is not None:
            self.front._mark_begun(scope[HANDED])
        if self.go_on is not None:
            await self.go_on.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def front_of(edge, begin=True) -> tuple[EdgeFront, Threads]:
    lazy = LazyApp()
    lazy._app = edge
    front = EdgeFront(lazy, threads=1)
    front.threaded = threads = Threads(front, begin)
    return front, threads


async def answer_of(front, method, path, headers=()):
    """One request through the front, on the running loop: (status, headers as a dict, body)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "http_version": "1.1",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}
    await front(scope, receive, send)
    return sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]}, sent[1]["body"]


def ask(front, method, path, headers=()):
    return asyncio.run(answer_of(front, method, path, headers))


def test_a_newcomer_to_a_full_edge_is_answered_on_the_loop_with_a_place_in_line():
    edge, _client, backend, worker = full_edge()  # one registration holds the only place
    front, threads = front_of(edge)
    try:
        calls = len(backend.calls)
        status, headers, body = ask(front, "POST", "/api/v1/auth/token", [("Content-Type", "application/json")])
        assert status == 503 and json.loads(body)["error"]["code"] == "queue"
        ticket = json.loads(body)["queue"]["ticket"]
        assert verify(ticket, 3600) is not None and headers["retry-after"] and "pupns_queue=" in headers["set-cookie"]
        status, _, body = ask(front, "POST", "/api/v1/registrations", [("X-Queue-Ticket", ticket)])
        assert status == 503 and json.loads(body)["queue"]["position"] == 1  # the holder kept the place
        assert threads.paths == [] and len(backend.calls) == calls
        assert edge.admission.line.waiting() == 1
    finally:
        release(worker)


def test_what_might_enter_goes_to_the_threads():
    edge, _client, _backend, worker = full_edge(capacity=2)  # one of two places taken: a newcomer may enter
    front, threads = front_of(edge)
    try:
        assert ask(front, "POST", "/api/v1/auth/token")[0] == 200
        # The session gate is above the newcomers' one: a session and a non-queued route still fit.
        edge.admission.inflight = edge.admission.gates()[0]
        assert ask(front, "GET", "/api/v1/me", [("Authorization", "Bearer x")])[0] == 200
        assert ask(front, "POST", "/api/v1/auth/token")[0] == 503
        assert ask(front, "GET", "/api/v1/me/form", [("Accept", "text/html")])[0] == 200  # the waiting page's path
        assert ask(front, "GET", "/healthz")[0] == 200
        assert threads.paths == ["/api/v1/auth/token", "/api/v1/me", "/api/v1/me/form", "/healthz"]
    finally:
        edge.admission.inflight = 1
        release(worker)


def test_calls_handed_to_threads_that_have_not_begun_count_against_the_gate():
    edge, _client, _backend, worker = full_edge(capacity=2)  # one of two places taken
    front, threads = front_of(edge, begin=False)

    async def scenario():
        threads.go_on = asyncio.Event()
        first = asyncio.create_task(answer_of(front, "POST", "/api/v1/auth/token"))
        while not threads.paths:  # handed over; no thread has begun it yet
            await asyncio.sleep(0)
        assert front.pending() == 1
        threads.go_on.set()  # later calls are answered at once
        shed = await answer_of(front, "POST", "/api/v1/auth/token")  # 1 admitted + 1 on its way fill the gate
        page = await answer_of(front, "GET", "/healthz")  # not an API call: not counted
        begun = front.pending()
        await first  # answered: no longer on its way, whether or not a thread was seen to begin it
        return shed[0], page[0], begun, front.pending(), (await answer_of(front, "POST", "/api/v1/auth/token"))[0]

    try:
        assert asyncio.run(scenario()) == (503, 200, 1, 0, 200)
    finally:
        release(worker)


def test_a_handed_call_counts_as_begun_once_whoever_sees_it_first():
    lazy = LazyApp()
    lazy._app = lambda environ, start_response: [b""]
    front = EdgeFront(lazy, threads=1)
    front.handed, handoff = 2, [False]
    front._begin({"asgi.scope": {HANDED: handoff}}, None)  # a thread begins it
    front._mark_begun(handoff)  # then the front sees it answered
    front._begin({"asgi.scope": {}}, None)  # an ops or page call was never counted as handed
    assert front.begun == 1 and front.pending() == 1
    front._mark_begun([False])  # cancelled before any thread took it: the front counts it
    assert front.pending() == 0


def test_before_the_edge_is_wired_every_request_goes_to_the_threads():
    front = EdgeFront(LazyApp(), threads=1)
    front.threaded = threads = Threads(front)
    assert ask(front, "POST", "/api/v1/auth/token")[0] == 200 and threads.paths == ["/api/v1/auth/token"]


def test_the_shed_environ_holds_only_what_the_decision_reads():
    headers = [(b"authorization", b"Bearer t"), (b"x-queue-ticket", b"k"), (b"cookie", b"a=b"),
               (b"accept", b"application/json"), (b"content-type", b"application/json")]
    path = "/api/v1/me/form/sections/alamat"
    assert shed_environ("PUT", path, headers) == {"REQUEST_METHOD": "PUT", "PATH_INFO": path,
                                                  "HTTP_AUTHORIZATION": "Bearer t", "HTTP_X_QUEUE_TICKET": "k",
                                                  "HTTP_COOKIE": "a=b", "HTTP_ACCEPT": "application/json"}
