"""Every RPC carries its caller's deadline; a service skips a request whose caller has already given up.

The web apps (edge, console) put `deadline` (epoch seconds) into the nameko context of each call; nameko sends it
as the `nameko.deadline` message header. `rpc` below is nameko's RPC entrypoint that looks at it before a worker
is spawned: a request taken off the queue after its deadline is answered `unavailable` at once (nobody is
waiting for the answer) and counted in `pupns_rpc_expired_total`, instead of costing a worker, a password hash
and store round trips for a client that has long gone. Under a flood this is what keeps a service from working
through a backlog nobody wants any more.
"""
from __future__ import annotations

import inspect
import logging
import sys
import time

from nameko.rpc import Rpc
from prometheus_client import Counter

from pupns import callers
from pupns.errors import AppError
from pupns.rpc_messages import TransientRpcConsumer

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
    """nameko's RPC entrypoint: refuses calls without a valid caller token (`pupns.callers`) and skips requests
    whose caller's deadline has passed. Its replies are transient and unconfirmed (pupns.rpc_messages)."""

    rpc_consumer = TransientRpcConsumer()

    def setup(self) -> None:
        super().setup()
        params = list(inspect.signature(getattr(self.container.service_cls, self.method_name)).parameters)
        self.actor_index = params.index("actor") - 1 if "actor" in params else None  # without `self`

    def handle_message(self, body: dict, message) -> None:
        service = self.container.service_name
        if expired(message.headers.get(HEADER)):
            EXPIRED.labels(service, self.method_name).inc()
            log.info("skipped %s.%s: the caller's deadline had passed", service, self.method_name)
            return self._refuse(message, AppError("unavailable", extra={"retry_after": 2}))
        caller = callers.verify(message.headers.get(callers.HEADER), f"{service}.{self.method_name}")
        if caller is None:
            log.warning("refused %s.%s: no valid caller token", service, self.method_name)
            return self._refuse(message, AppError("unauthorized"))
        given = self._actor_argument(body)
        if "a" in caller and given is not None and not callers.same_actor(caller["a"], given):
            log.warning("refused %s.%s: the actor argument is not the one %s signed for", service,
                        self.method_name, caller.get("c"))
            return self._refuse(message, AppError("forbidden"))
        super().handle_message(body, message)

    def _actor_argument(self, body: dict) -> dict | None:
        kwargs, args = body.get("kwargs") or {}, body.get("args") or []
        if "actor" in kwargs:
            return kwargs["actor"] if isinstance(kwargs["actor"], dict) else None
        if self.actor_index is not None and self.actor_index < len(args) and isinstance(args[self.actor_index], dict):
            return args[self.actor_index]
        return None

    def _refuse(self, message, error: AppError) -> None:
        try:
            raise error
        except AppError:
            self.rpc_consumer.handle_result(message, None, sys.exc_info())  # replies and acks


rpc = DeadlineRpc.decorator
