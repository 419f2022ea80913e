"""RPC proxies for tests that call services directly: they carry a signed caller token (pupns.callers), as the
platform's own callers do; a service refuses any call without one."""
from __future__ import annotations

from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy

from pupns import callers


def signed_proxy(service: str, config: dict, **options: Any) -> ServiceRpcProxy:
    """nameko's ServiceRpcProxy whose calls are signed by the component "test" (valid for an hour)."""
    return ServiceRpcProxy(service, config, context_data={callers.CONTEXT_KEY: callers.token("test", ttl=3600)},
                           **options)
