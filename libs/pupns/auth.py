"""Passwords (scrypt, memory-hard) and access tokens (JWT with rotatable kid)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from typing import Any

import jwt

from pupns import config
from pupns.errors import AppError

AUDIENCE = "pupns"
ISSUER = "pupns-identity"
ROLES = ("pns", "verifier", "admin")

# scrypt N=2**14, r=8, p=1: 16 MiB of memory per hash; measured in bench/password_hash.py.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    """Hash a password as `scrypt$N$r$p$salt$digest` (base64)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=256 * 1024 * 1024, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against `hash_password` output."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), maxmem=256 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash of a random password, verified against when the username does not exist so that
# an unknown NIP costs the same time as a wrong password.
DUMMY_HASH = hash_password(base64.b64encode(os.urandom(12)).decode())


def issue_token(subject: str, role: str, instansi_kode: str | None = None,
                ttl: int | None = None) -> dict[str, Any]:
    """A signed access token and the spec's token response."""
    ttl = ttl or config.token_ttl_seconds()
    kid = config.jwt_active_kid()
    now = int(time.time())
    claims = {"sub": subject, "role": role, "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + ttl}
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
    """An unguessable, unalterable signature for a receipt URL (HMAC with the active key)."""
    kid = config.jwt_active_kid()
    mac = hmac.new(config.jwt_keys()[kid].encode(), f"receipt:{registration_number}".encode(), hashlib.sha256)
    return f"{kid}.{mac.hexdigest()}"


def verify_receipt(registration_number: str, signature: str) -> bool:
    """True when `signature` was made by `sign_receipt` with any known key."""
    kid, _, digest = (signature or "").partition(".")
    key = config.jwt_keys().get(kid)
    if not key:
        return False
    mac = hmac.new(key.encode(), f"receipt:{registration_number}".encode(), hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), digest)
