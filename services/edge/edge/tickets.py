"""Queue tickets: HMAC-signed (active JWT key), carrying a global sequence number, the issue time and a kind.

Signing and checking cost a few microseconds and no MongoDB operation: a ticket presented again is
checked from its signature alone; only a newcomer's sequence number comes from the shared counter.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from pupns import config

COOKIE = "pupns_queue"
HEADER = "X-Queue-Ticket"
QUEUE = "q"  # a place in the global line
SESSION = "s"  # a turned-away session's retry slip: no place in the line, never lets an anonymous client in


@dataclass(frozen=True)
class Ticket:
    """A place in the line: `seq` is global and monotonic, `issued_at` in epoch seconds."""

    seq: int
    issued_at: int
    kind: str = QUEUE


def _mac(key: str, payload: str) -> str:
    return hmac.new(key.encode(), f"queue:{payload}".encode(), hashlib.sha256).hexdigest()[:32]


def sign(ticket: Ticket) -> str:
    """`<payload>.<kid>.<mac>`, opaque to the client and unforgeable."""
    kid = config.jwt_active_kid()
    raw = json.dumps({"s": ticket.seq, "t": ticket.issued_at, "k": ticket.kind}, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{kid}.{_mac(config.jwt_keys()[kid], payload)}"


def verify(token: str | None, ttl: int, now: float | None = None) -> Ticket | None:
    """The ticket if its signature is good (any known kid) and it has not expired; otherwise None."""
    if not token or len(token) > 300:
        return None
    payload, _, rest = token.partition(".")
    kid, _, mac = rest.partition(".")
    key = config.jwt_keys().get(kid)
    if not key or not hmac.compare_digest(_mac(key, payload), mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        ticket = Ticket(int(data["s"]), int(data["t"]), str(data.get("k", QUEUE)))
    except (ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - ticket.issued_at > ttl:
        return None
    return ticket


def new_ticket(seq: int) -> Ticket:
    return Ticket(seq, int(time.time()))
