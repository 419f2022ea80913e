"""Back-end access for the console: one ClusterRpcProxy per thread, created lazily and reused."""
from __future__ import annotations

import logging
import threading
from typing import Any

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from pupns import config
from pupns.errors import AppError

log = logging.getLogger(__name__)


class Backend:
    """Calls `service.method(...)` over nameko RPC; every failure becomes an AppError."""

    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None):
        self.amqp_uri, self.timeout = amqp_uri, timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[ClusterRpcProxy] = []

    def _proxy(self):
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            runner = ClusterRpcProxy({"AMQP_URI": self.amqp_uri or config.amqp_uri()},
                                     timeout=self.timeout or config.rpc_timeout())
            proxy = runner.start()
            self._local.runner, self._local.proxy = runner, proxy
            with self._lock:
                self._all.append(runner)
        return proxy

    def _discard(self) -> None:
        runner = getattr(self._local, "runner", None)
        self._local.runner = self._local.proxy = None
        if runner is not None:
            with self._lock:
                if runner in self._all:
                    self._all.remove(runner)
            try:
                runner.stop()
            except Exception:  # the connection is already broken; nothing more to release
                log.debug("stopping a broken RPC proxy failed", exc_info=True)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(getattr(self._proxy(), service), method)(*args, **kwargs)
        except AppError:
            raise
        except (RpcTimeout, UnknownService) as exc:
            # A late reply must not be read as the answer to the next call: start afresh.
            self._discard()
            raise AppError("unavailable") from exc
        except RemoteError as exc:
            log.error("%s.%s failed remotely: %s", service, method, exc)
            raise AppError("internal_error") from exc
        except Exception as exc:  # broken connection (socket, AMQP): recreate on the next call
            log.warning("RPC %s.%s failed; discarding the proxy: %r", service, method, exc)
            self._discard()
            raise AppError("unavailable") from exc

    def close(self) -> None:
        """Stop every proxy this backend created (all threads)."""
        with self._lock:
            runners, self._all = self._all, []
        for runner in runners:
            try:
                runner.stop()
            except Exception:
                log.debug("stopping an RPC proxy failed", exc_info=True)
        self._local = threading.local()
