"""Administrator use cases: staff accounts (first admin, verifiers) and the campaign window."""
from __future__ import annotations

from datetime import UTC, datetime

from identity import domain
from identity.application import projector
from identity.projections import CAMPAIGN
from identity.schemas import CampaignSchema, VerifierSchema, load
from pupns.actors import Actor, actor_meta, require_role
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent
from pupns.passwords import POOL, hash_password

ADMIN_USERNAME = "admin"


def _create_staff(store: EventStore, username: str, role: str, password: str, instansi_kode: str | None,
                  meta: dict) -> None:
    data = {"username": username, "role": role, "instansi_kode": instansi_kode,
            "password_hash": POOL.run(hash_password, password)}
    store.append(domain.STAFF_STREAM.format(username=username), 0, [NewEvent("StaffAccountCreated", data)],
                 meta, instansi_kode=instansi_kode, projection=projector(store).apply)


def bootstrap_admin(store: EventStore, password: str) -> dict:
    """Create the first administrator once; later calls change nothing."""
    if store.stream_version(domain.STAFF_STREAM.format(username=ADMIN_USERNAME)):
        return {"created": False}
    problems = domain.password_problems(password or "")
    if problems:
        raise validation_error({"password": problems})
    try:
        _create_staff(store, ADMIN_USERNAME, "admin", password, None, {"actor": "system", "role": "system"})
    except ConcurrencyError:
        return {"created": False}
    return {"created": True}


def create_verifier(store: EventStore, payload: dict, actor: Actor) -> dict:
    """An administrator creates a verifier bound to one instansi."""
    require_role(actor, "admin")
    data = load(VerifierSchema(), payload)
    username, instansi = data["username"], data["instansi_kode"].strip()
    if store.stream_version(domain.STAFF_STREAM.format(username=username)):
        raise AppError("conflict", "Nama pengguna sudah dipakai.", fields={"username": ["sudah dipakai"]})
    try:
        _create_staff(store, username, "verifier", data["password"], instansi, actor_meta(actor))
    except ConcurrencyError:
        raise AppError("conflict", "Nama pengguna sudah dipakai.", fields={"username": ["sudah dipakai"]}) from None
    return {"username": username, "role": "verifier", "instansi_kode": instansi}


def get_campaign(store: EventStore) -> dict:
    """The current window and whether it is open now."""
    doc = store.db[CAMPAIGN].find_one({"_id": "current"})
    if not doc:
        return {"opens_at": None, "closes_at": None, "is_open": False}
    return {"opens_at": doc["opens_at"], "closes_at": doc["closes_at"],
            "is_open": domain.campaign_is_open(doc, datetime.now(UTC))}


def set_campaign(store: EventStore, payload: dict, actor: Actor) -> dict:
    """Schedule, extend or move the window (every change is an audited event)."""
    require_role(actor, "admin")
    data = load(CampaignSchema(), payload)
    window = {key: domain.parse_aware(data[key]).isoformat() for key in ("opens_at", "closes_at")}
    for _ in range(3):
        version = store.stream_version(domain.CAMPAIGN_STREAM)
        try:
            store.append(domain.CAMPAIGN_STREAM, version, [NewEvent("CampaignScheduled", window)],
                         actor_meta(actor), projection=projector(store).apply)
            return get_campaign(store)
        except ConcurrencyError:
            continue
    raise AppError("conflict", "Jadwal sedang diubah oleh pengguna lain. Coba lagi.")
