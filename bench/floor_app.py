"""The cheapest possible turn-away: an app answering every request with a fixed 503 `queue` body.

Run under the edge's gunicorn shape and worker (`asgi`, as edge.http.server sheds) by bench/edge_load.py, it
measures what the server itself costs per request on this machine: the floor below which no change to the edge's
own code can push a turn-away. `app` is the same answer for a WSGI server.
"""
from __future__ import annotations

import json

BODY = json.dumps({"error": {"code": "queue", "message": "Antrean penuh, silakan coba lagi."},
                   "queue": {"ticket": "x" * 60, "position": 0, "retry_after": 1}}).encode()
HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(BODY))),
           ("Retry-After", "1"), ("Cache-Control", "no-store")]


def app(environ: dict, start_response) -> list[bytes]:
    """503 with a constant body, whatever was asked."""
    start_response("503 SERVICE UNAVAILABLE", HEADERS)
    return [BODY]


ASGI_HEADERS = [(name.lower().encode(), value.encode()) for name, value in HEADERS]


class Floor:
    """The same answer as an ASGI app that answers every request at once, as the edge's protocol asks the edge
    (edge.http.protocol)."""

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 503, "headers": ASGI_HEADERS})
        await send({"type": "http.response.body", "body": BODY})

    def answer_at_once(self, method: str, path: str, headers: list) -> tuple[int, list, bytes]:
        return 503, ASGI_HEADERS, BODY


asgi = Floor()
