"""The console's back-end access: the shared per-thread nameko RPC client."""
from __future__ import annotations

from pupns.rpc_client import RpcBackend as Backend

__all__ = ["Backend"]
