"""Staff accounts after creation: the administrator's list, disabling and enabling (audited), revocation."""
from __future__ import annotations

from datetime import UTC, datetime

from identity import domain
from identity.application import projector
from identity.projections import ROSTER, STAFF
from pupns.actors import Actor, actor_meta, require_role
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent

LOGINS = "staff_logins"  # operational: last successful login per staff account (no history)
PAGE = 100


def list_staff(store: EventStore, actor: Actor, instansi_kode: str | None = None, cursor: str | None = None) -> dict:
    """The spec's `GET /admin/verifiers`: verifier accounts (of one instansi), by username, 100 a page."""
    require_role(actor, "admin")
    query: dict = {"role": "verifier"}
    if instansi_kode:
        query["instansi_kode"] = instansi_kode
    if cursor:
        query["_id"] = {"$gt": cursor}
    rows = list(store.db[STAFF].find(query).sort("_id", 1).limit(PAGE + 1))
    logins = {d["_id"]: d.get("at") for d in store.db[LOGINS].find({"_id": {"$in": [r["_id"] for r in rows]}})}
    names = _instansi_names(store, {r.get("instansi_kode") for r in rows})
    items = [{"username": r["_id"], "instansi_kode": r.get("instansi_kode"),
              "instansi_nama": names.get(r.get("instansi_kode")), "active": not r.get("disabled_at"),
              "created_at": r.get("created_at"), "last_login_at": logins.get(r["_id"])} for r in rows[:PAGE]]
    return {"items": items, "next": rows[PAGE - 1]["_id"] if len(rows) > PAGE else None}


def _instansi_names(store: EventStore, codes: set[str | None]) -> dict[str, str]:
    names = {}
    for code in codes - {None}:
        row = store.db[ROSTER].find_one({"instansi_kode": code}, {"row.instansi_nama": 1})
        names[code] = ((row or {}).get("row") or {}).get("instansi_nama")
    return names


def set_active(store: EventStore, username: str, active: bool, reason: str, actor: Actor) -> dict:
    """Disable (tokens and console sessions stop within seconds, login refused) or enable a staff account."""
    require_role(actor, "admin")
    if not isinstance(reason, str) or not reason.strip():
        raise validation_error({"reason": ["Alasan wajib diisi."]})
    username = (username or "").strip().lower()
    if username == actor.get("id") and not active:
        raise AppError("invalid_state", "Administrator tidak dapat menonaktifkan akunnya sendiri.")
    stream = domain.STAFF_STREAM.format(username=username)
    for _ in range(3):
        doc = store.db[STAFF].find_one({"_id": username})
        if doc is None:
            raise AppError("not_found")
        if bool(not doc.get("disabled_at")) == active:
            return {"username": username, "active": active}  # already so: nothing to record
        event = NewEvent("StaffAccountEnabled" if active else "StaffAccountDisabled",
                         {"username": username, "reason": reason.strip()})
        try:
            store.append(stream, store.stream_version(stream), [event], actor_meta(actor),
                         instansi_kode=doc.get("instansi_kode"), projection=projector(store).apply)
            return {"username": username, "active": active}
        except ConcurrencyError:
            continue
    raise AppError("conflict")


def revoked(store: EventStore) -> dict[str, dict]:
    """Staff accounts ever disabled: username -> {active, since}; their tokens issued before `since` are void,
    and every token of an account disabled now."""
    found = store.db[STAFF].find({"last_disabled_at": {"$ne": None}}, {"disabled_at": 1, "last_disabled_at": 1})
    return {d["_id"]: {"active": not d.get("disabled_at"), "since": d["last_disabled_at"]} for d in found}


def note_login(store: EventStore, username: str) -> None:
    store.db[LOGINS].update_one({"_id": username}, {"$set": {"at": datetime.now(UTC).isoformat()}}, upsert=True)
