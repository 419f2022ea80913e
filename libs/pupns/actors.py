"""Who is acting: built by the edge from a verified JWT, passed to services with each command."""
from __future__ import annotations

from typing import Any

from pupns.errors import AppError

Actor = dict[str, Any]  # {"id": nip-or-username, "role": "pns"|"verifier"|"admin", "instansi_kode": str|None}


def actor_meta(actor: Actor | None) -> dict[str, Any]:
    """Event `meta` fields for an actor (the audit trail's who)."""
    if not actor:
        return {"actor": "system", "role": "system"}
    return {"actor": actor.get("id"), "role": actor.get("role"), "instansi_kode": actor.get("instansi_kode")}


def require_role(actor: Actor | None, *roles: str) -> Actor:
    """403 unless the actor has one of `roles`."""
    if not actor or actor.get("role") not in roles:
        raise AppError("forbidden")
    return actor


def require_instansi(actor: Actor, instansi_kode: str | None) -> None:
    """Verifiers act only on their own instansi; admins on all."""
    if actor.get("role") == "admin":
        return
    if actor.get("role") != "verifier" or actor.get("instansi_kode") != instansi_kode:
        raise AppError("forbidden")
