"""Bearer tokens to actors, and the role checks routes declare."""
from __future__ import annotations

from werkzeug.wrappers import Request

from pupns.actors import Actor
from pupns.auth import decode_token
from pupns.errors import AppError
from pupns.revocation import Revocations


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError("unauthorized")
    return token.strip()


def actor_from_request(request: Request, revocations: Revocations | None = None) -> Actor | None:
    """The actor of a verified token; None without one; 401 `unauthorized` for a bad one or a disabled account's."""
    token = bearer_token(request)
    if token is None:
        return None
    claims = decode_token(token)
    if revocations is not None and revocations.revoked(claims):
        raise AppError("unauthorized")
    return {"id": claims["sub"], "role": claims["role"], "instansi_kode": claims.get("instansi_kode")}


def authorize(actor: Actor | None, roles: tuple[str, ...] | None) -> None:
    """401 without an actor when roles are required; 403 for the wrong role."""
    if not roles:
        return
    if actor is None:
        raise AppError("unauthorized")
    if actor.get("role") not in roles:
        raise AppError("forbidden")
