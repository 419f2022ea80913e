"""The edge's gunicorn worker: uvicorn (httptools, uvloop) serving `edge.http.server:app`.

Kept apart from the app so the gunicorn master imports only this, never the edge itself (the edge is wired in
each worker after the fork). gthread parsed every request in Python and took a thread for each: ~0.5 ms of CPU per
request answered with a constant 503 on the 2-vCPU bench machine, against ~0.13 ms here (measured side by side
with bench.loadgen at 2,000 requests/s), so a flood's turn-aways no longer eat the cores its successes need.
"""
from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker

from edge.http.protocol import EdgeProtocol


class EdgeWorker(UvicornWorker):
    """uvicorn under gunicorn, as the edge needs it: turn-aways answered as they are parsed (edge.http.protocol),
    no proxy-header rewriting, no lifespan, no server banner."""

    # The edge reads X-Forwarded-For itself, trusting only PUPNS_EDGE_PROXY_HOPS proxies (SPEC Abuse): uvicorn
    # must not rewrite the client address from it first. Its access log goes where gunicorn's would, if set.
    CONFIG_KWARGS: dict[str, Any] = {"loop": "uvloop", "http": EdgeProtocol, "proxy_headers": False,
                                     "lifespan": "off", "server_header": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.access_log = bool(self.cfg.accesslog)
