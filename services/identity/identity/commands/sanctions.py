"""Closing the campaign: every roster PNS without a submission becomes `not_reregistered`; reinstatement.

Closing is a job (`pupns.jobs`, kind `campaign_close`): marking goes instansi by instansi from a cursor
(instansi, NIP) checkpointed in the job's stream, so a killed runner's successor resumes where it stopped.
A PNS is marked at most once per close (`closes_at`), so a step redone after a crash, or closing twice,
never double-counts and never appends a second mark.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

from identity.adapters import Deps
from identity.commands.deadlines import CAMPAIGN_CHANGED
from identity.domain import rules
from identity.schemas import ReasonSchema, load
from pupns import jobs
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.contracts.forms import FormSubmitted
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError

CLOSE_KIND = "campaign_close"
BATCH = 200
ATTEMPTS = 3
SYSTEM = {"id": "system", "role": "system", "instansi_kode": None}  # the clock closing at the deadline
BUSY = "Jadwal sedang diubah oleh pengguna lain. Coba lagi."


def now() -> datetime:
    return datetime.now(UTC)


def _close_window(deps: Deps, at: datetime, meta: dict, key: str | None, by_deadline: bool) -> str:
    """Move `closes_at` to now if the window has not closed yet, and record the close (the audited action, once
    per key); returns the close time in force."""
    def close(campaign) -> str:
        if campaign.window is None:
            raise DomainError("invalid_state")
        closes_at = campaign.window["closes_at"]
        if rules.parse_aware(closes_at) > at:
            closes_at = at.isoformat()
            campaign.schedule(min(rules.parse_aware(campaign.window["opens_at"]), at).isoformat(), closes_at)
        campaign.close(closes_at, by_deadline)
        return closes_at

    try:
        return deps.campaign.run("campaign", close, meta, attempts=ATTEMPTS,
                                 idempotency_key=f"close:{key}" if key else None)
    except AlreadyApplied:  # this close was recorded for this key (by this replica or another)
        return deps.read.campaign()["closes_at"]
    except DomainError:
        raise AppError("invalid_state", "Belum ada masa pendataan yang dijadwalkan.") from None
    except ConcurrencyError:
        raise AppError("conflict", BUSY) from None
    finally:
        CAMPAIGN_CHANGED.set()  # this process's deadline checks read the closed window at their next tick


def close_campaign(deps: Deps, actor: Actor, idempotency_key: str | None = None) -> dict:
    """Close the window now (if open) and start the job marking every roster PNS that never submitted.

    The window closes before this returns (registration answers `campaign_closed` at once); the marking is
    the job. The same idempotency key returns the same job and closes nothing twice.
    """
    if actor is not SYSTEM:
        require_role(actor, "admin")
    key = f"job:{actor.get('id')}:{idempotency_key}" if idempotency_key else None
    if key and (seen := deps.store.recall(key)):
        return jobs.get(deps.store, seen["result"]["job_id"])
    if not deps.read.campaign():
        raise AppError("invalid_state", "Belum ada masa pendataan yang dijadwalkan.")
    closes_at = _close_window(deps, now(), actor_meta(actor), key, by_deadline=actor is SYSTEM)
    return jobs.submit(deps.store, CLOSE_KIND, deps.read.roster_count(),
                       {"closes_at": closes_at, "instansi": deps.read.instansi_codes()}, actor, idempotency_key)


def close_when_due(deps: Deps) -> dict | None:
    """At `closes_at` the campaign closes by itself: one close job per deadline, however many replicas ask.

    A window an administrator closed is left alone even before their job is stored: `close_campaign` records
    the close, then submits the job, and a clock's tick in between must not add a close of its own (an
    administrator whose close failed half-way closes again, with the same idempotency key).
    """
    campaign = deps.read.campaign()
    if not campaign or rules.parse_aware(campaign["closes_at"]) > now():
        return None
    closes_at = campaign["closes_at"]
    if campaign.get("closed_for") == closes_at and campaign.get("closed_by") != SYSTEM["role"]:
        return None  # an administrator closed this window; the marking is their job
    if deps.read.close_job_exists(CLOSE_KIND, closes_at):
        return None  # closed already (by this clock on another replica)
    return close_campaign(deps, SYSTEM, f"deadline:{closes_at}")


def close_step(deps: Deps, run: jobs.JobRun, deadline: float) -> bool:
    """Mark a page of roster PNS at a time, instansi by instansi, checkpointing the cursor after each page."""
    source = run.job["input"]
    instansi = source["instansi"]
    while (position := run.cursor.get("position", 0)) < len(instansi):
        if time.monotonic() >= deadline:
            return False
        page = deps.read.roster_page(instansi[position], run.cursor.get("after", ""), BATCH)
        marked = 0
        for nip in _unsubmitted(deps, page):
            marked += _mark(deps, nip, source["closes_at"], run.meta)
        cursor = ({"position": position + 1, "after": ""} if len(page) < BATCH
                  else {"position": position, "after": page[-1]["_id"]})
        run.checkpoint(run.job.get("done", 0) + len(page), cursor, {"marked": marked})
    run.finish({"not_reregistered": deps.read.roster_count(only_not_reregistered=True)})
    return True


def _unsubmitted(deps: Deps, page: list[dict]) -> list[str]:
    """NIPs of the page neither sanctioned already nor ever submitted."""
    nips = [d["_id"] for d in page if not d.get("not_reregistered")]
    submitted = deps.read.ever_submitted(nips)
    return [nip for nip in nips if nip not in submitted]


def _mark(deps: Deps, nip: str, closes_at: str, meta: dict) -> bool:
    """Sanction one PNS for this close unless already done (a redone step appends nothing). A roster import or
    a reinstatement landing in between makes the repository look again; past ATTEMPTS the ConcurrencyError
    reaches the job, which retries the page."""
    return deps.records.run(nip, lambda record: record.mark_not_reregistered(closes_at), meta, attempts=ATTEMPTS)


def reinstate(deps: Deps, nip: str, reason: object, actor: Actor) -> dict:
    """An administrator lifts the sanction; the PNS's status is what it was before."""
    require_role(actor, "admin")
    text = load(ReasonSchema(), {"reason": reason})["reason"].strip()
    try:
        deps.records.run(nip, lambda record: record.reinstate(text), actor_meta(actor), attempts=ATTEMPTS)
    except DomainError as exc:
        raise AppError(exc.code, "PNS ini tidak berstatus tidak mendaftar ulang."
                       if exc.code == "invalid_state" else None) from exc
    except ConcurrencyError:
        raise AppError("conflict") from None
    account = deps.read.account(nip)
    status = rules.Account(nip, account["status"], account.get("form_status")).public_status if account else None
    return {"nip": nip, "status": status}


def lift_for_submission(deps: Deps, event: FormSubmitted, key: str) -> None:
    """A submission made before the close reached identity after it: the sanction does not stand."""
    meta = {"actor": "system", "role": "system", "cause": event.event_id}
    try:
        deps.records.run(event.nip, lambda record: record.lift_for_submission(
            event.submitted_at, "Formulir dikirim sebelum masa pendataan ditutup"), meta,
            idempotency_key=f"{key}:lift")
    except AlreadyApplied:
        pass  # redelivery after the lift was stored
