"""Login: password check with equal timing for unknown users, and a per-username throttle."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity import domain, staff
from identity.application import projector
from identity.projections import ACCOUNTS, STAFF
from pupns.auth import issue_token as sign_token
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent
from pupns.nip import normalize_nip
from pupns.passwords import DUMMY_HASH, POOL, hash_password, needs_rehash, verify_password

THROTTLE = "login_throttle"  # operational state, not history: no events


def _now() -> datetime:
    return datetime.now(UTC)


def _locked_for(store: EventStore, key: str, at: datetime) -> int:
    doc = store.db[THROTTLE].find_one({"_id": key})
    if not doc or not doc.get("locked_until"):
        return 0
    remaining = (doc["locked_until"] - at).total_seconds()
    return max(int(remaining + 0.999), 0)


def _record_failure(store: EventStore, key: str, at: datetime) -> None:
    doc = store.db[THROTTLE].find_one({"_id": key}) or {}
    failures = domain.decayed_failures(doc.get("failures", 0), doc.get("last_failure_at"), at) + 1
    seconds = domain.lock_seconds(failures)
    store.db[THROTTLE].update_one(
        {"_id": key}, {"$set": {"failures": failures, "last_failure_at": at,
                                "locked_until": at + timedelta(seconds=seconds) if seconds else None}},
        upsert=True)


def _reset(store: EventStore, key: str) -> None:
    store.db[THROTTLE].delete_one({"_id": key})


def _find_principal(store: EventStore, username: str) -> tuple[dict | None, str]:
    """(read-model doc, role) for a NIP or a staff username."""
    if domain.looks_like_nip(username):
        return store.db[ACCOUNTS].find_one({"_id": normalize_nip(username)}), "pns"
    staff = store.db[STAFF].find_one({"_id": username})
    return staff, (staff or {}).get("role", "verifier")


def _upgrade_hash(store: EventStore, username: str, role: str, password: str) -> None:
    """A hash made with older parameters (scrypt) is replaced by an argon2id hash of the same password."""
    stream = domain.PASSWORD_STREAM.format(username=username)
    data = {"username": username, "kind": "pns" if role == "pns" else "staff",
            "password_hash": POOL.run(hash_password, password)}
    try:
        store.append(stream, store.stream_version(stream), [NewEvent("PasswordRehashed", data)],
                     {"actor": username, "role": role}, nip=username if role == "pns" else None,
                     projection=projector(store).apply)
    except ConcurrencyError:
        pass  # a concurrent login of the same user upgraded it


def issue_token(store: EventStore, username: str, password: str, device: str | None = None) -> dict:
    """The spec's token response, or 401 / 403 / 429 without saying which part was wrong.

    `device`: the edge's verified device id of a client that logged in as this user before (SPEC Abuse): it is
    judged on its own failures alone, so nobody else's wrong passwords lock the owner out."""
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
        raise AppError("invalid_credentials")
    username = normalize_nip(username.strip()) if domain.looks_like_nip(username) else username.strip().lower()
    at, key = _now(), domain.throttle_key(username, device if isinstance(device, str) else None)
    wait = _locked_for(store, key, at)
    if wait:
        raise AppError("too_many_attempts", extra={"retry_after": wait})
    principal, role = _find_principal(store, username)
    stored = (principal or {}).get("password_hash") or DUMMY_HASH
    if not POOL.run(verify_password, password, stored) or principal is None:
        _record_failure(store, key, at)
        raise AppError("invalid_credentials")
    _reset(store, key)
    if needs_rehash(stored):
        _upgrade_hash(store, username, role, password)
    if role == "pns":
        refusal = domain.login_refusal(principal["status"])
        if refusal:
            raise AppError(refusal)
        return sign_token(username, "pns", principal.get("instansi_kode"))
    if principal.get("disabled_at"):
        raise AppError("forbidden", "Akun ini dinonaktifkan oleh administrator.")
    staff.note_login(store, username)
    return sign_token(username, role, principal.get("instansi_kode") if role == "verifier" else None)
