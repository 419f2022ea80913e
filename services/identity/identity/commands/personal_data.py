"""A PNS's personal data as a whole (SPEC §7): an administrator's erasure, and the PNS's own export."""
from __future__ import annotations

from identity.adapters import Deps
from identity.commands.accounts import public_status, timeline
from identity.domain.accounts import ERASURE_STREAM, ErasureRecord
from pupns.actors import Actor, actor_meta, require_role
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError
from pupns.nip import normalize_nip
from pupns.personal import ERASED_MARKER, open_fields

MAX_REASON = 200  # the key store keeps as much; a reason is a code or a staff sentence, never personal data
ACCOUNT_FIELDS = ("email", "status", "registration_number", "registered_at", "confirmed_at")


def _known(deps: Deps, nip: str) -> tuple[dict | None, dict | None]:
    """(roster entry, account) of the NIP, AppError("not_found") when it has neither."""
    entry, account = deps.read.roster_entry(nip), deps.read.account(nip)
    if entry is None and account is None:
        raise AppError("not_found")
    return entry, account


def _erased_at(deps: Deps, nip: str) -> str | None:
    """When the latest RecordErased of the NIP was stored."""
    events = deps.store.read_stream(ERASURE_STREAM.format(nip=nip))
    return events[-1]["meta"].get("occurred_at") if events else None


def erase_record(deps: Deps, nip: str, reason: str, actor: Actor) -> dict:
    """Erase a PNS's personal data: an audited RecordErased (the reason; the actor in its meta), then every data
    key of the NIP destroyed in the key store. Repeating it answers the same and appends nothing; after a new
    registration made a new key, erasing again is a new erasure."""
    require_role(actor, "admin")
    if not isinstance(reason, str) or not reason.strip():
        raise validation_error({"reason": ["Alasan wajib diisi."]})
    reason = " ".join(reason.split())[:MAX_REASON]
    nip = normalize_nip(nip or "")
    entry, account = _known(deps, nip)
    keys = deps.codec.keys
    instansi = (entry or account or {}).get("instansi_kode")

    def erase(record: ErasureRecord) -> None:
        if not record.erasures or keys.data_key(nip, create=False) is not None:
            record.erase(reason, instansi)

    try:
        deps.erasures.run(nip, erase, actor_meta(actor))
    except ConcurrencyError:
        raise AppError("conflict") from None
    keys.erase(nip, reason, str(actor.get("id")))  # idempotent: a repeat destroys and records nothing
    return {"nip": nip, "erased": True, "erased_at": _erased_at(deps, nip)}


def export_of(deps: Deps, nip: str) -> dict:
    """Everything identity holds about the PNS, for the PNS themselves (`GET /me/export`): the roster row and the
    account (never the password hash) opened, and the `GET /me` timeline. Erased values read as null, and the
    record holding them carries `"_erased": true` (so does the whole export)."""
    nip = normalize_nip(nip or "")
    entry, account = _known(deps, nip)
    roster = open_fields(deps.codec, nip, dict(entry["row"])) if entry and entry.get("row") else None
    mine = None
    if account:
        shown = {key: account.get(key) for key in ACCOUNT_FIELDS}
        shown["status"] = public_status(deps, nip, account)
        mine = open_fields(deps.codec, nip, shown)
    erased = any((record or {}).get(ERASED_MARKER) for record in (roster, mine))
    return {"nip": nip, "roster": roster, "account": mine, "timeline": timeline(deps, nip) if account else [],
            **({ERASED_MARKER: True} if erased else {})}
