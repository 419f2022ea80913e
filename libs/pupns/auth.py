"""Access tokens (JWT with rotatable kid) and receipt URL signatures; passwords live in `pupns.passwords`."""
from __future__ import annotations

import time
from typing import Any

import jwt

from pupns import config, signing
from pupns.errors import AppError

AUDIENCE = "pupns"
ISSUER = "pupns-identity"
ROLES = ("pns", "verifier", "admin")


def issue_token(subject: str, role: str, instansi_kode: str | None = None,
                ttl: int | None = None) -> dict[str, Any]:
    """A signed access token and the spec's token response."""
    ttl = ttl or config.token_ttl_seconds()
    kid = config.jwt_active_kid()
    issued = time.time()
    now = int(issued)
    # iat in milliseconds, truncated like the event log's occurred_at (RFC 7519 allows a non-integer NumericDate):
    # pupns.revocation voids tokens with iat <= a disabling's or password change's time, so a token issued in the
    # same second but after it must not count as before it, and one issued before it never counts as after.
    claims = {"sub": subject, "role": role, "aud": AUDIENCE, "iss": ISSUER, "iat": int(issued * 1000) / 1000,
              "exp": now + ttl}
    if instansi_kode:
        claims["instansi_kode"] = instansi_kode
    token = jwt.encode(claims, config.jwt_keys()[kid], algorithm="HS256", headers={"kid": kid})
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "role": role}


def decode_token(token: str) -> dict[str, Any]:
    """Verify signature (by kid), audience, issuer and expiry; 401 `unauthorized` otherwise."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = config.jwt_keys().get(kid or "")
        if not key:
            raise AppError("unauthorized")
        claims = jwt.decode(token, key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "sub", "aud", "iss"]})
    except jwt.PyJWTError as exc:
        raise AppError("unauthorized") from exc
    if claims.get("role") not in ROLES:
        raise AppError("unauthorized")
    return claims


def sign_receipt(registration_number: str) -> str:
    """An unguessable, unalterable signature for a receipt URL (the receipt key, pupns.signing)."""
    kid, digest = signing.mac("receipt", registration_number)  # type: ignore[misc]
    return f"{kid}.{digest}"


def verify_receipt(registration_number: str, signature: str) -> bool:
    """True when `signature` was made by `sign_receipt` with any known key."""
    kid, _, digest = (signature or "").partition(".")
    return signing.mac_matches("receipt", registration_number, kid, digest)
