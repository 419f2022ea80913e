"""Closing the campaign: every roster PNS without a submission becomes `not_reregistered`; reinstatement.

Marking is resumable: `close_campaign` marks for a time budget, then the service's timer continues from a
cursor (instansi, NIP) kept in `campaign_closing` (operational state, like the login throttle: no events, no replay).
A PNS is marked at most once per close (`closes_at`), so closing twice never double-counts.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from pymongo import ReturnDocument

from identity import domain
from identity.application import now, projector
from identity.projections import ACCOUNTS, CAMPAIGN, ROSTER
from identity.record import PnsRecord
from identity.schemas import ReasonSchema, load
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent

CLOSING = "campaign_closing"
BATCH = 200
CLOSE_BUDGET_SECONDS = 5.0  # what the RPC spends marking before the timer takes over (edge RPC timeout: 10 s)
SWEEP_BUDGET_SECONDS = 1.5
LEASE = timedelta(seconds=30)
ATTEMPTS = 3


def load_record(store: EventStore, nip: str) -> PnsRecord:
    return PnsRecord.load(nip, store.read_stream(domain.ROSTER_STREAM.format(nip=nip)))  # type: ignore[return-value]


def save_record(store: EventStore, record: PnsRecord, meta: dict, key: str | None = None) -> None:
    events = [NewEvent(e.type_name(), e.to_data()) for e in record.pending]
    store.append(domain.ROSTER_STREAM.format(nip=record.id), record.version, events, meta, nip=record.id,
                 instansi_kode=record.instansi_kode, idempotency_key=key, projection=projector(store).apply)
    record.pending = []


def _append_campaign(store: EventStore, event: NewEvent, meta: dict) -> None:
    for _ in range(ATTEMPTS):
        try:
            store.append(domain.CAMPAIGN_STREAM, store.stream_version(domain.CAMPAIGN_STREAM), [event], meta,
                         projection=projector(store).apply)
            return
        except ConcurrencyError:
            continue
    raise AppError("conflict", "Jadwal sedang diubah oleh pengguna lain. Coba lagi.")


def _close_window(store: EventStore, campaign: dict, at: datetime, meta: dict) -> str:
    """Move `closes_at` to now if the window has not closed yet; returns the close time in force."""
    if domain.parse_aware(campaign["closes_at"]) <= at:
        return campaign["closes_at"]
    window = {"opens_at": min(domain.parse_aware(campaign["opens_at"]), at).isoformat(), "closes_at": at.isoformat()}
    _append_campaign(store, NewEvent("CampaignScheduled", window), meta)
    return window["closes_at"]


def close_campaign(store: EventStore, actor: Actor, budget: float = CLOSE_BUDGET_SECONDS) -> dict:
    """Close the window now (if open) and mark every roster PNS that never submitted."""
    require_role(actor, "admin")
    campaign = store.db[CAMPAIGN].find_one({"_id": "current"})
    if not campaign:
        raise AppError("invalid_state", "Belum ada masa pendataan yang dijadwalkan.")
    meta = actor_meta(actor)
    closes_at = _close_window(store, campaign, now(), meta)
    _append_campaign(store, NewEvent("CampaignClosed", {"closes_at": closes_at}), meta)  # the audited action
    instansi = sorted(k for k in store.db[ROSTER].distinct("instansi_kode") if k)
    store.db[CLOSING].replace_one({"_id": "current"}, {
        "_id": "current", "closes_at": closes_at, "instansi": instansi, "position": 0, "after": "", "done": False,
        "meta": meta, "lease_until": None}, upsert=True)
    done = continue_marking(store, budget)
    return {"not_reregistered": store.db[ROSTER].count_documents({"not_reregistered": True}),
            "marking_complete": done}


def _candidates(store: EventStore, instansi_kode: str, after: str) -> list[str]:
    """Roster NIPs of one instansi, after `after`, neither sanctioned nor ever submitted (indexed lookups only)."""
    roster = store.db[ROSTER].find({"instansi_kode": instansi_kode}, {"_id": 1, "not_reregistered": 1})
    nips = sorted(d["_id"] for d in roster if d["_id"] > after and not d.get("not_reregistered"))
    submitted: set[str] = set()
    for start in range(0, len(nips), BATCH):
        submitted |= {d["_id"] for d in store.db[ACCOUNTS].find(
            {"_id": {"$in": nips[start:start + BATCH]}, "ever_submitted": True}, {"_id": 1})}
    return [nip for nip in nips if nip not in submitted]


def continue_marking(store: EventStore, budget: float = SWEEP_BUDGET_SECONDS) -> bool:
    """Mark for up to `budget` seconds, instansi by instansi; True when no close is left unfinished."""
    at = now()
    job = store.db[CLOSING].find_one_and_update(
        {"_id": "current", "done": False, "$or": [{"lease_until": None}, {"lease_until": {"$lt": at}}]},
        {"$set": {"lease_until": at + LEASE}}, return_document=ReturnDocument.AFTER)
    if job is None:
        return not store.db[CLOSING].find_one({"_id": "current", "done": False})
    deadline, position, after = time.monotonic() + budget, job["position"], job["after"]
    try:
        while position < len(job["instansi"]) and time.monotonic() < deadline:
            for nip in _candidates(store, job["instansi"][position], after):
                _mark(store, nip, job["closes_at"], job["meta"])
                after = nip
                if time.monotonic() >= deadline:
                    break
            else:
                position, after = position + 1, ""
    finally:
        store.db[CLOSING].update_one({"_id": "current"}, {"$set": {
            "position": position, "after": after, "done": position >= len(job["instansi"]), "lease_until": None}})
    return position >= len(job["instansi"])


def _mark(store: EventStore, nip: str, closes_at: str, meta: dict) -> None:
    for _ in range(ATTEMPTS):
        record = load_record(store, nip)
        if not record.mark_not_reregistered(closes_at):
            return
        try:
            save_record(store, record, meta)
            return
        except ConcurrencyError:
            continue  # a roster import or a reinstatement landed in between: look again
    raise AppError("conflict", f"NIP {nip} sedang diubah bersamaan; tutup ulang untuk melanjutkan.")


def reinstate(store: EventStore, nip: str, reason: object, actor: Actor) -> dict:
    """An administrator lifts the sanction; the PNS's status is what it was before."""
    require_role(actor, "admin")
    text = load(ReasonSchema(), {"reason": reason})["reason"].strip()
    for _ in range(ATTEMPTS):
        record = load_record(store, nip)
        try:
            record.reinstate(text)
            save_record(store, record, actor_meta(actor))
        except DomainError as exc:
            raise AppError(exc.code, "PNS ini tidak berstatus tidak mendaftar ulang."
                           if exc.code == "invalid_state" else None) from exc
        except ConcurrencyError:
            continue
        account = store.db[ACCOUNTS].find_one({"_id": nip}, {"status": 1, "form_status": 1})
        status = domain.Account(nip, account["status"], account.get("form_status")).public_status \
            if account else None
        return {"nip": nip, "status": status}
    raise AppError("conflict")


def lift_for_submission(store: EventStore, message: dict, key: str) -> None:
    """A submission made before the close reached identity after it: the sanction does not stand."""
    submitted_at = (message.get("data") or {}).get("submitted_at")
    record = load_record(store, message["nip"])
    if not submitted_at or not record.lift_for_submission(
            submitted_at, "Formulir dikirim sebelum masa pendataan ditutup"):
        return
    try:
        save_record(store, record, {"actor": "system", "role": "system", "cause": message["event_id"]},
                    key=f"{key}:lift")
    except AlreadyApplied:
        pass  # redelivery after the lift was stored
