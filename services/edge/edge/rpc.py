"""The edge's back-end access: the shared per-thread nameko RPC client."""
from __future__ import annotations

from pupns.rpc_client import Backend, LatencyObserver, RpcBackend, unavailable

NamekoBackend = RpcBackend

__all__ = ["Backend", "LatencyObserver", "NamekoBackend", "unavailable"]
