"""Back-end access for web apps (edge, console): one started ClusterRpcProxy per thread, reused.

Never one proxy per request: each proxy owns a reply queue and an AMQP connection.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Protocol

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterProxy, ClusterRpcProxy

from pupns import callers, config, deadlines
from pupns.errors import AppError
from pupns.rpc_messages import TransientServiceProxy

log = logging.getLogger(__name__)

# Publishing to a dead broker must fail fast: one retry, no multi-second back-off.
FAST_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}
CONNECTION_ERRORS = (OSError, socket.timeout, AmqpConnectionError, OperationalError, RuntimeError)


class Backend(Protocol):
    """What handlers call: `call("identity", "register", payload, idempotency_key=k)`."""

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any: ...


class LatencyObserver(Protocol):
    def observe_backend(self, seconds: float) -> None: ...


class _FastClusterProxy(ClusterProxy):
    """A ClusterProxy whose method proxies publish transient requests (pupns.rpc_messages) with the fast-failing
    retry policy."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._proxies:
            self._proxies[name] = TransientServiceProxy(self._worker_ctx, name, self._reply_listener,
                                                        retry_policy=FAST_RETRY_POLICY)
        return self._proxies[name]


class _FastClusterRpcProxy(ClusterRpcProxy):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._proxy = _FastClusterProxy(self._worker_ctx, self._reply_listener)


class RpcBackend:
    """Thread-local, lazily started, long-lived standalone proxies; broken ones are discarded."""

    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None,
                 observer: LatencyObserver | None = None, breaker_seconds: float = 1.0,
                 component: str = "edge") -> None:
        self.component = component  # who signs this process's calls (pupns.callers)
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = timeout if timeout is not None else config.rpc_timeout()
        self.observer = observer
        self.breaker_seconds = breaker_seconds
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[_FastClusterRpcProxy] = []
        self._broken_until = 0.0  # while the broker is down, answer 503 without trying each time
        self.started = 0  # proxies started in this process (tests assert reuse)

    def _proxy(self) -> Any:
        holder = getattr(self._local, "holder", None)
        if holder is not None and holder._reply_listener.queue_consumer.connection.connected is False:
            self._discard()
            holder = None
        if holder is None:
            holder = _FastClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=self.timeout)
            cluster = holder.start()
            self._local.holder, self._local.cluster = holder, cluster
            with self._lock:
                self._all.append(holder)
                self.started += 1
        return self._local.cluster

    def _discard(self) -> None:
        holder = getattr(self._local, "holder", None)
        self._local.holder = self._local.cluster = None
        if holder is None:
            return
        with self._lock:
            if holder in self._all:
                self._all.remove(holder)
        try:
            holder.stop()
        except Exception:  # the connection is already gone; nothing left to close
            log.debug("closing a broken RPC proxy failed", exc_info=True)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `service.method` and translate transport failures into client-visible errors."""
        if time.monotonic() < self._broken_until:
            raise unavailable()
        started = time.monotonic()
        try:
            cluster = self._proxy()
            holder = getattr(self._local, "holder", None)
            if holder is not None:  # the service skips the request if it is taken off the queue after we gave up
                holder._worker_ctx.data[deadlines.CONTEXT_KEY] = time.time() + self.timeout
                holder._worker_ctx.data[callers.CONTEXT_KEY] = callers.token(
                    self.component, callers.actor_in(args, kwargs), f"{service}.{method}", self.timeout + 5)
            return getattr(cluster[service], method)(*args, **kwargs)
        except AppError:
            raise
        except MethodNotFound as exc:
            raise AppError("not_implemented") from exc
        except (RpcTimeout, UnknownService) as exc:
            log.warning("rpc %s.%s: %r", service, method, exc)
            self._discard()  # a late reply must not be read by the next request on this thread
            raise unavailable() from exc
        except CONNECTION_ERRORS as exc:
            log.warning("rpc %s.%s: broker unreachable: %r", service, method, exc)
            self._discard()
            self._broken_until = time.monotonic() + self.breaker_seconds
            raise unavailable() from exc
        except RemoteError as exc:  # an unexpected failure inside a service: logged there and here
            log.error("rpc %s.%s failed remotely: %s", service, method, exc)
            raise AppError("internal_error") from exc
        finally:
            if self.observer is not None:
                self.observer.observe_backend(time.monotonic() - started)

    def close(self) -> None:
        """Stop every proxy this process started (graceful shutdown)."""
        with self._lock:
            holders, self._all = self._all, []
        for holder in holders:
            try:
                holder.stop()
            except Exception:
                log.debug("closing an RPC proxy failed", exc_info=True)


def unavailable(retry_after: int = 2) -> AppError:
    """503 `unavailable` telling the client when to come back."""
    return AppError("unavailable", extra={"retry_after": retry_after})
