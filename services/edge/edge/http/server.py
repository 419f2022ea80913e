"""The edge's ASGI front (`gunicorn -c services/edge/gunicorn.conf.py edge.http.server:app`).

A request the edge would turn away anyway (edge.http.app `EdgeApp.shed`: the in-flight gate it needs is full) is
answered here, on the event loop, from its method, path and a few headers: no thread, no WSGI environ, no body
read. Everything else runs in the WSGI edge on a pool of PUPNS_EDGE_THREADS threads (a2wsgi), as under gthread.
"""
from __future__ import annotations

import os
from typing import Any

from a2wsgi import WSGIMiddleware

from edge.http.app import LazyApp
from edge.http.app import app as wsgi_app

# The only headers the shed decision reads, as WSGI would name them.
SHED_HEADERS = {b"accept": "HTTP_ACCEPT", b"authorization": "HTTP_AUTHORIZATION", b"cookie": "HTTP_COOKIE",
                b"x-queue-ticket": "HTTP_X_QUEUE_TICKET"}


class EdgeFront:
    """ASGI app: sheds what cannot enter on the event loop, hands the rest to the WSGI edge's threads."""

    def __init__(self, edge: LazyApp, threads: int) -> None:
        self.edge = edge
        self.threaded = WSGIMiddleware(edge, workers=threads)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        built = self.edge.built()
        if scope["type"] == "http" and built is not None:
            shed = built.shed(shed_environ(scope))
            if shed is not None:
                status, headers, body = shed
                await send({"type": "http.response.start", "status": status,
                            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.threaded(scope, receive, send)


def shed_environ(scope: dict) -> dict[str, str]:
    """The part of a WSGI environ that `EdgeApp.shed` reads."""
    environ = {"REQUEST_METHOD": scope["method"], "PATH_INFO": scope["path"]}
    for name, value in scope["headers"]:
        key = SHED_HEADERS.get(name)
        if key is not None:
            environ[key] = value.decode("latin-1")
    return environ


app = EdgeFront(wsgi_app, int(os.environ.get("PUPNS_EDGE_THREADS", "8")))
