"""A nameko service's calls to other services' RPCs (e.g. identity's audit job paging through every service's log).

nameko's own RpcProxy would do, but its calls carry no caller token, which every service refuses (pupns.callers),
and wait for their reply for ever. These are nameko's method proxies on nameko's shared reply listener, each call
signed as the calling service, carrying its deadline (pupns.deadlines: the callee skips it once nobody waits) and
given up past it with 503 `unavailable`, like the web apps' calls (pupns.rpc_client).
"""
from __future__ import annotations

import time
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener

from pupns import callers, deadlines
from pupns.errors import AppError
from pupns.rpc_messages import TransientMethodProxy

DEFAULT_TIMEOUT = 30.0  # seconds; a caller with a shorter need passes its own


class _CallContext:
    """What nameko's method proxy reads of a worker context: its container, and the context sent as headers."""

    def __init__(self, worker_ctx: Any, extra: dict) -> None:
        self.container = worker_ctx.container
        self.context_data = {**worker_ctx.context_data, **extra}


class Calls:
    """`call(service, method, *args, timeout=s, **kwargs)` from inside one worker."""

    def __init__(self, worker_ctx: Any, reply_listener: ReplyListener, component: str) -> None:
        self.worker_ctx, self.reply_listener, self.component = worker_ctx, reply_listener, component

    def call(self, service: str, method: str, *args: Any, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
        """Call `service.method`; 503 `unavailable` when no answer came within `timeout` seconds."""
        target = f"{service}.{method}"
        context = _CallContext(self.worker_ctx, {
            deadlines.CONTEXT_KEY: time.time() + timeout,
            callers.CONTEXT_KEY: callers.token(self.component, callers.actor_in(args, kwargs), target, timeout + 5)})
        reply = TransientMethodProxy(context, service, method, self.reply_listener).call_async(*args, **kwargs)
        try:
            with eventlet.Timeout(timeout):
                return reply.result()
        except eventlet.Timeout:
            self._forget(reply)
            raise AppError("unavailable", f"{target} tidak menjawab dalam {timeout:g} detik.",
                           extra={"retry_after": 2}) from None

    def _forget(self, reply: Any) -> None:
        """Free the reply slot of a call given up: nameko's listener drops it only when a reply comes, and a callee
        that died with the request, or whose queue went, never sends one (a slot per such call, for the process's
        life). A reply that comes after all is logged by nameko as for an unknown call, and dropped."""
        events = self.reply_listener._reply_events  # nameko 2.14's, correlation id -> event; no public way to drop
        for correlation_id, event in list(events.items()):
            if event is reply.reply_event:
                events.pop(correlation_id, None)


class ServiceCalls(DependencyProvider):
    """The dependency giving a worker `Calls`, signed as this service."""

    rpc_reply_listener = ReplyListener()

    def get_dependency(self, worker_ctx: Any) -> Calls:
        return Calls(worker_ctx, self.rpc_reply_listener, self.container.service_name)
