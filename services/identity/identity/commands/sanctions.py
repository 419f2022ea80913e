"""Closing the campaign: every roster PNS without a submission becomes `not_reregistered`; reinstatement.

Closing is a job (`pupns.jobs`, kind `campaign_close`): marking goes instansi by instansi from a cursor
(instansi, NIP) checkpointed in the job's stream, so a killed runner's successor resumes where it stopped.
A PNS is marked at most once per close (`closes_at`), so a step redone after a crash, or closing twice,
never double-counts and never appends a second mark.
"""
from __future__ import annotations

import time
from datetime import datetime

from identity import domain
from identity.application import now, projector
from identity.projections import ACCOUNTS, CAMPAIGN, ROSTER
from identity.record import PnsRecord
from identity.schemas import ReasonSchema, load
from pupns import jobs
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent

CLOSE_KIND = "campaign_close"
BATCH = 200
ATTEMPTS = 3
SYSTEM = {"id": "system", "role": "system", "instansi_kode": None}  # the clock closing at the deadline


def load_record(store: EventStore, nip: str) -> PnsRecord:
    return PnsRecord.load(nip, store.read_stream(domain.ROSTER_STREAM.format(nip=nip)))  # type: ignore[return-value]


def save_record(store: EventStore, record: PnsRecord, meta: dict, key: str | None = None) -> None:
    events = [NewEvent(e.type_name(), e.to_data()) for e in record.pending]
    store.append(domain.ROSTER_STREAM.format(nip=record.id), record.version, events, meta, nip=record.id,
                 instansi_kode=record.instansi_kode, idempotency_key=key, projection=projector(store).apply)
    record.pending = []


def _append_campaign(store: EventStore, event: NewEvent, meta: dict, key: str | None = None) -> None:
    for _ in range(ATTEMPTS):
        try:
            store.append(domain.CAMPAIGN_STREAM, store.stream_version(domain.CAMPAIGN_STREAM), [event], meta,
                         idempotency_key=key, projection=projector(store).apply)
            return
        except AlreadyApplied:
            return  # another replica recorded this close
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


def close_campaign(store: EventStore, actor: Actor, idempotency_key: str | None = None) -> dict:
    """Close the window now (if open) and start the job marking every roster PNS that never submitted.

    The window closes before this returns (registration answers `campaign_closed` at once); the marking is
    the job. The same idempotency key returns the same job and closes nothing twice.
    """
    if actor is not SYSTEM:
        require_role(actor, "admin")
    key = f"job:{actor.get('id')}:{idempotency_key}" if idempotency_key else None
    if key and (seen := store.recall(key)):
        return jobs.get(store, seen["result"]["job_id"])
    campaign = store.db[CAMPAIGN].find_one({"_id": "current"})
    if not campaign:
        raise AppError("invalid_state", "Belum ada masa pendataan yang dijadwalkan.")
    meta = actor_meta(actor)
    closes_at = _close_window(store, campaign, now(), meta)
    _append_campaign(store, NewEvent("CampaignClosed", {"closes_at": closes_at}), meta,
                     key=f"close:{key}" if key else None)  # the audited action, once per key
    instansi = sorted(k for k in store.db[ROSTER].distinct("instansi_kode") if k)
    total = store.db[ROSTER].count_documents({})
    return jobs.submit(store, CLOSE_KIND, total, {"closes_at": closes_at, "instansi": instansi}, actor,
                       idempotency_key)


def close_when_due(store: EventStore) -> dict | None:
    """At `closes_at` the campaign closes by itself: one close job per deadline, however many replicas ask."""
    campaign = store.db[CAMPAIGN].find_one({"_id": "current"})
    if not campaign or domain.parse_aware(campaign["closes_at"]) > now():
        return None
    closes_at = campaign["closes_at"]
    if store.db[jobs.JOBS].find_one({"kind": CLOSE_KIND, "input.closes_at": closes_at}, {"_id": 1}):
        return None  # closed already (by an administrator, or by this clock on another replica)
    return close_campaign(store, SYSTEM, f"deadline:{closes_at}")


def close_step(run: jobs.JobRun, deadline: float) -> bool:
    """Mark a page of roster PNS at a time, instansi by instansi, checkpointing the cursor after each page."""
    store, source = run.store, run.job["input"]
    instansi = source["instansi"]
    while (position := run.cursor.get("position", 0)) < len(instansi):
        if time.monotonic() >= deadline:
            return False
        page = _page(store, instansi[position], run.cursor.get("after", ""))
        marked = 0
        for nip in _unsubmitted(store, page):
            marked += _mark(store, nip, source["closes_at"], run.meta)
        cursor = ({"position": position + 1, "after": ""} if len(page) < BATCH
                  else {"position": position, "after": page[-1]["_id"]})
        run.checkpoint(run.job.get("done", 0) + len(page), cursor, {"marked": marked})
    run.finish({"not_reregistered": store.db[ROSTER].count_documents({"not_reregistered": True})})
    return True


def _page(store: EventStore, instansi_kode: str, after: str) -> list[dict]:
    """The next roster PNS of one instansi after NIP `after`, in NIP order."""
    return list(store.db[ROSTER].find({"instansi_kode": instansi_kode, "_id": {"$gt": after}},
                                      {"_id": 1, "not_reregistered": 1}).sort("_id", 1).limit(BATCH))


def _unsubmitted(store: EventStore, page: list[dict]) -> list[str]:
    """NIPs of the page neither sanctioned already nor ever submitted."""
    nips = [d["_id"] for d in page if not d.get("not_reregistered")]
    submitted = {d["_id"] for d in store.db[ACCOUNTS].find({"_id": {"$in": nips}, "ever_submitted": True},
                                                          {"_id": 1})}
    return [nip for nip in nips if nip not in submitted]


def _mark(store: EventStore, nip: str, closes_at: str, meta: dict) -> bool:
    """Sanction one PNS for this close unless already done (a redone step appends nothing)."""
    for _ in range(ATTEMPTS):
        record = load_record(store, nip)
        if not record.mark_not_reregistered(closes_at):
            return False
        try:
            save_record(store, record, meta)
            return True
        except ConcurrencyError:
            continue  # a roster import or a reinstatement landed in between: look again
    raise ConcurrencyError(domain.ROSTER_STREAM.format(nip=nip), record.version)  # the job retries the page


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
