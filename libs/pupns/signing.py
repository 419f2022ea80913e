"""One key per purpose, and the signed opaque tokens made with them (queue tickets, device cookies, receipts, CSRF).

Every purpose's key is derived with HKDF-SHA256 (`cryptography`) from the root secret of a kid in PUPNS_JWT_KEYS
(info `pupns/<purpose>`): a key that leaks from one use (a ticket MAC, a CSRF token) yields neither the root nor
any other purpose's key, and rotating a kid rotates them all. Access tokens themselves are signed by pupns.auth.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pupns import config

PURPOSES = ("queue-ticket", "device", "receipt", "csrf", "rpc-caller")


@lru_cache(maxsize=128)
def _derive(root: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pupns/{purpose}".encode()).derive(
        root.encode())


def purpose_key(purpose: str, kid: str) -> bytes | None:
    """The key of `purpose` under `kid`, or None for a kid that is not (or no longer) configured."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    root = config.jwt_keys().get(kid)
    return _derive(root, purpose) if root else None


def mac(purpose: str, message: str, kid: str | None = None) -> tuple[str, str] | None:
    """(kid, hex HMAC-SHA256 of `message` with the purpose's key); the active kid unless one is named."""
    kid = kid or config.jwt_active_kid()
    key = purpose_key(purpose, kid)
    if key is None:
        return None
    return kid, hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def mac_matches(purpose: str, message: str, kid: str, digest: str, length: int | None = None) -> bool:
    """True when `digest` (its first `length` characters, if given) is the purpose's MAC of `message` under kid."""
    made = mac(purpose, message, kid)
    return made is not None and hmac.compare_digest(made[1][:length] if length else made[1], digest or "")


def seal(purpose: str, data: dict[str, Any]) -> str:
    """`<payload>.<kid>.<mac>`: a JSON object, readable by anyone, alterable by no one."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    kid, digest = mac(purpose, payload)  # type: ignore[misc]  # the active kid is always configured
    return f"{payload}.{kid}.{digest[:32]}"


def unseal(purpose: str, token: str | None, max_length: int = 400) -> dict | None:
    """The JSON object of a token made by `seal` for this purpose (any configured kid); None otherwise."""
    if not token or len(token) > max_length:
        return None
    payload, _, rest = token.partition(".")
    kid, _, digest = rest.partition(".")
    if not mac_matches(purpose, payload, kid, digest, 32):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
