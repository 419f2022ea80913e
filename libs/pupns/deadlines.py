"""Every RPC carries its caller's deadline; a service skips a request whose caller has already given up.

The web apps (edge, console) put `deadline` (epoch seconds) into the nameko context of each call; nameko sends it
as the `nameko.deadline` message header. `rpc` below is nameko's RPC entrypoint that looks at it before a worker
is spawned: a request taken off the queue after its deadline is answered `unavailable` at once (nobody is
waiting for the answer) and counted in `pupns_rpc_expired_total`, instead of costing a worker, a password hash
and store round trips for a client that has long gone. Under a flood this is what keeps a service from working
through a backlog nobody wants any more.
"""
from __future__ import annotations

import logging
import sys
import time

from nameko.rpc import Rpc
from prometheus_client import Counter

from pupns.errors import AppError

log = logging.getLogger(__name__)
HEADER = "nameko.deadline"
CONTEXT_KEY = "deadline"

EXPIRED = Counter("pupns_rpc_expired", "RPC requests skipped because the caller's deadline had passed",
                  ("service", "method"))


def expired(deadline: object, now: float | None = None) -> bool:
    """True when a request's deadline (epoch seconds, as sent) has passed; no deadline never expires."""
    try:
        return deadline is not None and (now if now is not None else time.time()) > float(deadline)
    except (TypeError, ValueError):
        return False


class DeadlineRpc(Rpc):
    """nameko's RPC entrypoint, skipping requests whose caller's deadline has passed."""

    def handle_message(self, body: dict, message) -> None:
        if expired(message.headers.get(HEADER)):
            service = self.container.service_name
            EXPIRED.labels(service, self.method_name).inc()
            log.info("skipped %s.%s: the caller's deadline had passed", service, self.method_name)
            try:
                raise AppError("unavailable", extra={"retry_after": 2})
            except AppError:
                self.rpc_consumer.handle_result(message, None, sys.exc_info())  # replies and acks
            return
        super().handle_message(body, message)


rpc = DeadlineRpc.decorator
