"""Who calls a service (issue 11): every RPC carries a signed caller token; services refuse calls without one.

A caller token is `pupns.signing.seal("rpc-caller", ...)`: the calling component (edge, console, cli, test), the
actor it acts for (when the call carries one), the method it is for, and an expiry. It travels as the nameko context
value `pupns_caller` (message header `nameko.pupns_caller`). The service's RPC entrypoint (`pupns.deadlines.rpc`)
refuses a call whose token is missing, forged, expired or for another method (401), and one whose `actor` argument
is not the actor the token was signed for (403). Access to the broker alone is no longer enough to act as anyone:
the per-purpose key is held only by the platform's own processes.
"""
from __future__ import annotations

import time
from typing import Any

from pupns import signing

CONTEXT_KEY = "pupns_caller"
HEADER = f"nameko.{CONTEXT_KEY}"
PURPOSE = "rpc-caller"
MAX_TOKEN = 2000
ACTOR_ROLES = frozenset({"pns", "verifier", "admin"})


def is_actor(value: Any) -> bool:
    """A pupns actor dict ({id, role, instansi_kode})."""
    return isinstance(value, dict) and value.get("role") in ACTOR_ROLES and "id" in value


def actor_in(args: tuple, kwargs: dict) -> dict | None:
    """The actor a call carries: its `actor` keyword, else its first positional actor dict."""
    if is_actor(kwargs.get("actor")):
        return kwargs["actor"]
    return next((arg for arg in args if is_actor(arg)), None)


def token(component: str, actor: dict | None = None, method: str | None = None, ttl: float = 60.0) -> str:
    """A caller token for one call (`method` = "service.method") or, without it, for any call until it expires."""
    data: dict[str, Any] = {"c": component, "exp": round(time.time() + ttl, 3)}
    if actor is not None:
        data["a"] = {k: actor.get(k) for k in ("id", "role", "instansi_kode")}
    if method is not None:
        data["m"] = method
    return signing.seal(PURPOSE, data)


def verify(raw: object, method: str, now: float | None = None) -> dict | None:
    """The caller a token proves ({c, a?}) for a call of `method`; None when missing, forged, expired or for
    another method."""
    data = signing.unseal(PURPOSE, raw if isinstance(raw, str) else None, MAX_TOKEN)
    if data is None or not isinstance(data.get("exp"), int | float):
        return None
    if (now if now is not None else time.time()) > data["exp"] or data.get("m", method) != method:
        return None
    return data


def same_actor(signed: dict, given: dict) -> bool:
    """The actor an argument names is the one the caller signed for."""
    return all(signed.get(k) == given.get(k) for k in ("id", "role", "instansi_kode"))
