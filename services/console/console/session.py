"""The console session: the JWT in an HttpOnly cookie, the actor it names, CSRF tokens derived from it."""
from __future__ import annotations

import hmac
import secrets
from typing import Any

import jwt

from pupns import config, signing
from pupns.auth import decode_token
from pupns.errors import AppError

SESSION_COOKIE = "pupns_console"
LOGIN_COOKIE = "pupns_console_login"
STAFF_ROLES = ("verifier", "admin")


def staff_claims(token: str | None) -> dict[str, Any] | None:
    """Verified claims of a verifier/admin token, or None (missing, expired, forged, wrong role)."""
    if not token:
        return None
    try:
        claims = decode_token(token)
    except AppError:
        return None
    return claims if claims.get("role") in STAFF_ROLES else None


def actor_of(claims: dict[str, Any]) -> dict[str, Any]:
    return {"id": claims["sub"], "role": claims["role"], "instansi_kode": claims.get("instansi_kode")}


def csrf_token(session_token: str) -> str:
    """An HMAC of the session token with its signing key: forms carry it, a foreign site cannot."""
    kid = jwt.get_unverified_header(session_token).get("kid") or config.jwt_active_kid()
    made = signing.mac("csrf", session_token, kid if kid in config.jwt_keys() else None)
    return made[1] if made else ""


def csrf_valid(session_token: str | None, submitted: str | None) -> bool:
    if not session_token or not submitted:
        return False
    return hmac.compare_digest(csrf_token(session_token), submitted)


def new_login_nonce() -> str:
    """Double-submit token for the login form (there is no session yet to derive one from)."""
    return secrets.token_urlsafe(24)
