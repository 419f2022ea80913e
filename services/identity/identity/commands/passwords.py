"""Staff password changes: a verifier or administrator changes their own, an administrator sets one (audited).

Either appends `StaffPasswordChanged` to the account's stream; its read model's `password_changed_at` makes the
account's older tokens void (pupns.revocation, as for a disabled account), and the old password stops working.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

from identity.adapters import Deps
from identity.adapters.personal import staff_subject
from identity.commands.login import locked_for, record_failure, stored_hash
from identity.domain import rules
from identity.domain.accounts import StaffAccount
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.auth import issue_token as sign_token
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError
from pupns.passwords import POOL, hash_password, verify_password

STAFF_ROLES = ("verifier", "admin")
MAX_PASSWORD = 200  # as the login form's bound: nobody pays for hashing a megabyte
WRONG_CURRENT = "Kata sandi saat ini salah."


def throttle_key(username: str) -> str:
    """Wrong current passwords are counted apart from logins: a guesser holding a stolen session is slowed down
    without slowing the owner's logins."""
    return rules.throttle_key(username, "password-change")


def _checked_new(new_password: object, current_password: str | None = None) -> str:
    """The new password, or 422 `validation_error` under `new_password` (the registration policy)."""
    if not isinstance(new_password, str) or not new_password:
        raise validation_error({"new_password": ["wajib diisi"]})
    if len(new_password) > MAX_PASSWORD:
        raise validation_error({"new_password": [f"kata sandi paling banyak {MAX_PASSWORD} karakter"]})
    problems = rules.new_password_problems(new_password, current_password)
    if problems:
        raise validation_error({"new_password": problems})
    return new_password


def _save(deps: Deps, username: str, new_password: str, reset: bool, actor: Actor) -> dict:
    sealed = deps.codec.seal(staff_subject(username), POOL.run(hash_password, new_password))

    def change(account: StaffAccount) -> None:
        account.change_password(sealed, reset)

    try:
        deps.staff.run(username, change, actor_meta(actor))
    except DomainError as exc:
        raise AppError(exc.code) from None
    except ConcurrencyError:
        raise AppError("conflict") from None
    return {"username": username, "changed_at": deps.read.staff(username)["password_changed_at"]}


def _after(moment: str) -> None:
    """Return once the clock has passed the millisecond of `moment` (an event's occurred_at, truncated to the
    millisecond like a token's iat): a token issued then is not void. The append's transaction almost always
    took longer than that already."""
    at = datetime.fromisoformat(moment).timestamp()
    while int(time.time() * 1000) / 1000 <= at:
        time.sleep(0.001)


def change_own(deps: Deps, current_password: object, new_password: object, actor: Actor) -> dict:
    """A logged-in verifier or administrator replaces their password: {username, changed_at} and a fresh token
    response; 401 `invalid_credentials` when the current one is wrong (counted, 429 `too_many_attempts` after
    several), 422 for a new one the policy refuses."""
    require_role(actor, *STAFF_ROLES)
    username = str(actor.get("id") or "")
    if not isinstance(current_password, str) or not current_password or len(current_password) > MAX_PASSWORD:
        raise AppError("invalid_credentials", WRONG_CURRENT)
    new = _checked_new(new_password, current_password)  # checked before any hash is paid for
    at, key = datetime.now(UTC), throttle_key(username)
    wait = locked_for(deps, key, at)
    if wait:
        raise AppError("too_many_attempts", extra={"retry_after": wait})
    principal = deps.read.staff(username)
    opened = stored_hash(deps, principal, username, (principal or {}).get("role", "verifier"))
    if opened is None or not POOL.run(verify_password, current_password, opened):
        record_failure(deps, key, at)
        raise AppError("invalid_credentials", WRONG_CURRENT)
    deps.throttle.reset(key)
    changed = _save(deps, username, new, False, actor)
    _after(changed["changed_at"])
    # The caller's own tokens are void now; it proved the password, so it gets a fresh one (issued after the change).
    role = principal.get("role", "verifier")
    return {**changed, **sign_token(username, role, principal.get("instansi_kode") if role == "verifier" else None)}


def set_password(deps: Deps, username: object, new_password: object, actor: Actor) -> dict:
    """An administrator sets a staff account's password (a forgotten one; also while it is disabled): 404 for an
    unknown account; audited with the administrator as actor."""
    require_role(actor, "admin")
    if not isinstance(username, str) or not username.strip():
        raise AppError("not_found")
    username = username.strip().lower()
    new = _checked_new(new_password)
    if not deps.staff.get(username).exists:  # answered before paying for a hash
        raise AppError("not_found")
    return _save(deps, username, new, True, actor)
