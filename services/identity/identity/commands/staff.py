"""Staff accounts after creation: the administrator's list, disabling and enabling (audited), revocation
(of disabled accounts and of tokens older than a password change)."""
from __future__ import annotations

from datetime import datetime

from identity.adapters import Deps
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError

PAGE = 100


def list_staff(deps: Deps, actor: Actor, instansi_kode: str | None = None, cursor: str | None = None) -> dict:
    """The spec's `GET /admin/verifiers`: verifier accounts (of one instansi), by username, 100 a page."""
    require_role(actor, "admin")
    rows = deps.read.verifiers(instansi_kode, cursor, PAGE + 1)
    logins = deps.logins.last([r["_id"] for r in rows])
    names = deps.read.instansi_names(r.get("instansi_kode") for r in rows)
    items = [{"username": r["_id"], "instansi_kode": r.get("instansi_kode"),
              "instansi_nama": names.get(r.get("instansi_kode")), "active": not r.get("disabled_at"),
              "created_at": r.get("created_at"), "last_login_at": logins.get(r["_id"])} for r in rows[:PAGE]]
    return {"items": items, "next": rows[PAGE - 1]["_id"] if len(rows) > PAGE else None}


def set_active(deps: Deps, username: str, active: bool, reason: str, actor: Actor) -> dict:
    """Disable (tokens and console sessions stop within seconds, login refused) or enable a staff account."""
    require_role(actor, "admin")
    if not isinstance(reason, str) or not reason.strip():
        raise validation_error({"reason": ["Alasan wajib diisi."]})
    username = (username or "").strip().lower()
    if username == actor.get("id") and not active:
        raise AppError("invalid_state", "Administrator tidak dapat menonaktifkan akunnya sendiri.")
    try:
        deps.staff.run(username, lambda account: account.set_active(active, reason.strip()), actor_meta(actor))
    except DomainError as exc:
        raise AppError(exc.code) from None
    except ConcurrencyError:
        raise AppError("conflict") from None
    return {"username": username, "active": active}


def revoked(deps: Deps) -> dict[str, dict]:
    """Staff accounts ever disabled or given a new password: username -> {active, since}; their tokens issued
    before `since` (the latest disabling or password change) are void, and every token of an account disabled now."""
    return {d["_id"]: {"active": not d.get("disabled_at"), "since": _latest(d.get("last_disabled_at"),
                                                                            d.get("password_changed_at"))}
            for d in deps.read.ever_revoked()}


def _latest(*moments: str | None) -> str:
    return max((m for m in moments if m), key=datetime.fromisoformat)
