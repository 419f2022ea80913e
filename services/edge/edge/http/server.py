"""The edge's ASGI front (`gunicorn -c services/edge/gunicorn.conf.py edge.http.server:app`).

A request the edge would turn away anyway (edge.http.app `EdgeApp.shed`: the in-flight gate it needs is full) is
answered on the event loop from its method, path and a few headers: no thread, no WSGI environ, no body read. The
edge's HTTP protocol (edge.http.protocol) asks `answer_at_once` as soon as it has parsed the headers; a request it
could not ask about (one pipelined behind another, say) is judged the same way when it reaches the app. Everything
else runs in the WSGI edge on a pool of PUPNS_EDGE_THREADS threads (a2wsgi), as under gthread.

API calls handed to the threads that no thread has begun yet count against the gate too: each of them will either
enter or be turned away there, and under a flood on busy cores dozens are handed over before the first is begun; a
gate judged on the admitted ones alone would send them all to be turned away the slow way, after a wait.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from a2wsgi import WSGIMiddleware

from edge.http.app import LazyApp
from edge.http.app import app as wsgi_app
from edge.http.protocol import Answer
from edge.http.routes import V1
from edge.surge import tickets

# The only headers the shed decision reads, as WSGI would name them.
SHED_HEADERS = {b"accept": "HTTP_ACCEPT", b"authorization": "HTTP_AUTHORIZATION", b"cookie": "HTTP_COOKIE",
                tickets.HEADER.lower().encode(): tickets.ENVIRON_KEY}
HANDED = "pupns.handed"  # scope key: this API call was counted as handed to the threads


class EdgeFront:
    """ASGI app: sheds what cannot enter on the event loop, hands the rest to the WSGI edge's threads."""

    def __init__(self, edge: LazyApp, threads: int) -> None:
        self.edge = edge
        self.handed = 0  # API calls handed to the threads (counted on the event loop only)
        self.begun = 0  # ... of which a thread has begun (counted by the threads, under the lock)
        self._lock = threading.Lock()
        self.threaded = WSGIMiddleware(self._begin, workers=threads)

    def pending(self) -> int:
        """API calls handed to the threads that no thread has begun yet."""
        return self.handed - self.begun

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.threaded(scope, receive, send)
            return
        answer = self.answer_at_once(scope["method"], scope["path"], scope["headers"])
        if answer is not None:
            status, headers, body = answer
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if not scope["path"].startswith(V1 + "/"):
            await self.threaded(scope, receive, send)
            return
        handoff = scope[HANDED] = [False]  # [begun]
        self.handed += 1
        try:
            await self.threaded(scope, receive, send)
        finally:
            self._mark_begun(handoff)  # a call cancelled before any thread took it is no longer on its way

    def answer_at_once(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Answer | None:
        """The turn-away of a call that cannot enter anyway (status, ASGI headers, body); None to handle it."""
        built = self.edge.built()
        shed = built.shed(shed_environ(method, path, headers), self.pending()) if built is not None else None
        if shed is None:
            return None
        status, named, body = shed
        return status, [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in named], body

    def _begin(self, environ: dict, start_response: Any) -> Any:
        """The WSGI edge, once a thread has begun the call."""
        handoff = environ.get("asgi.scope", {}).get(HANDED)
        if handoff is not None:
            self._mark_begun(handoff)
        return self.edge(environ, start_response)

    def _mark_begun(self, handoff: list[bool]) -> None:
        """Count a handed call as begun, once."""
        with self._lock:
            if not handoff[0]:
                handoff[0] = True
                self.begun += 1


def shed_environ(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The part of a WSGI environ that `EdgeApp.shed` reads."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    for name, value in headers:
        key = SHED_HEADERS.get(name)
        if key is not None:
            environ[key] = value.decode("latin-1")
    return environ


app = EdgeFront(wsgi_app, int(os.environ.get("PUPNS_EDGE_THREADS", "8")))
