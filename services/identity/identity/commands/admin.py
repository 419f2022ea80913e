"""Administrator use cases: staff accounts (first admin, verifiers) and the campaign window."""
from __future__ import annotations

from datetime import UTC, datetime

from identity.adapters import Deps
from identity.adapters.personal import staff_subject
from identity.commands.deadlines import CAMPAIGN_CHANGED
from identity.domain import rules
from identity.schemas import CampaignSchema, VerifierSchema, load
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.campaign import campaign_is_open
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError
from pupns.passwords import POOL, hash_password

ADMIN_USERNAME = "admin"


def _create_staff(deps: Deps, username: str, role: str, password: str, instansi_kode: str | None,
                  meta: dict) -> None:
    """Raises DomainError("conflict") when the username is taken (ConcurrencyError when taken meanwhile)."""
    account = deps.staff.get(username)
    if account.exists:  # answered before paying for a hash
        raise DomainError("conflict")
    account.create(role, instansi_kode, deps.codec.seal(staff_subject(username), POOL.run(hash_password, password)))
    deps.staff.save(account, meta)


def bootstrap_admin(deps: Deps, password: str) -> dict:
    """Create the first administrator once; later calls change nothing."""
    if deps.staff.get(ADMIN_USERNAME).exists:
        return {"created": False}
    problems = rules.password_problems(password or "")
    if problems:
        raise validation_error({"password": problems})
    try:
        _create_staff(deps, ADMIN_USERNAME, "admin", password, None, {"actor": "system", "role": "system"})
    except (ConcurrencyError, DomainError):
        return {"created": False}
    return {"created": True}


def create_verifier(deps: Deps, payload: dict, actor: Actor) -> dict:
    """An administrator creates a verifier bound to one instansi."""
    require_role(actor, "admin")
    data = load(VerifierSchema(), payload)
    username, instansi = data["username"], data["instansi_kode"].strip()
    try:
        _create_staff(deps, username, "verifier", data["password"], instansi, actor_meta(actor))
    except (ConcurrencyError, DomainError):
        raise AppError("conflict", "Nama pengguna sudah dipakai.", fields={"username": ["sudah dipakai"]}) from None
    return {"username": username, "role": "verifier", "instansi_kode": instansi}


def get_campaign(deps: Deps) -> dict:
    """The current window and whether it is open now."""
    doc = deps.read.campaign()
    if not doc:
        return {"opens_at": None, "closes_at": None, "is_open": False}
    return {"opens_at": doc["opens_at"], "closes_at": doc["closes_at"],
            "is_open": campaign_is_open(doc, datetime.now(UTC))}


def set_campaign(deps: Deps, payload: dict, actor: Actor) -> dict:
    """Schedule, extend or move the window (every change is an audited event)."""
    require_role(actor, "admin")
    data = load(CampaignSchema(), payload)
    window = {key: rules.parse_aware(data[key]).isoformat() for key in ("opens_at", "closes_at")}
    try:
        deps.campaign.run("campaign", lambda c: c.schedule(window["opens_at"], window["closes_at"]),
                          actor_meta(actor))
    except ConcurrencyError:
        raise AppError("conflict", "Jadwal sedang diubah oleh pengguna lain. Coba lagi.") from None
    finally:
        CAMPAIGN_CHANGED.set()  # this process's deadline checks read the new window at their next tick
    return get_campaign(deps)
