"""Deadline reminders: a registered PNS with no submission is reminded before `closes_at`, once per reminder.

Offsets come from `PUPNS_REMINDERS` (default `7d,1d`; units s, m, h, d). When an offset's moment has come, one job
per (deadline, offset) appends `ReminderDue` {closes_at, before} on `reminder-{nip}` for every such PNS, a page per
checkpoint in one transaction, so a restart neither skips nor repeats anyone. notifications turns each event into
an e-mail (deduplicated by event id). An extension is a new deadline: its reminders are scheduled afresh.
"""
from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta

from identity import domain
from identity.application import now
from identity.projections import ACCOUNTS, CAMPAIGN
from pupns import jobs
from pupns.eventstore import EventStore, NewEvent, StreamAppend

KIND = "reminders"
PAGE = 200
SYSTEM = {"id": "system", "role": "system", "instansi_kode": None}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STREAM = "reminder-{nip}"


def offsets(spec: str | None = None) -> list[str]:
    """The configured reminder offsets, e.g. ["7d", "1d"] (malformed entries are ignored)."""
    text = spec if spec is not None else os.environ.get("PUPNS_REMINDERS", "7d,1d")
    return [part.strip() for part in text.split(",") if re.fullmatch(r"\d+[smhd]", part.strip())]


def seconds(offset: str) -> int:
    return int(offset[:-1]) * UNITS[offset[-1]]


def schedule_due(store: EventStore, at: datetime | None = None) -> dict | None:
    """Start the reminder job whose moment has come (only the latest one due: no stale 7-day mail a day before)."""
    campaign = store.db[CAMPAIGN].find_one({"_id": "current"})
    at = at or now()
    if not campaign or not domain.campaign_is_open(campaign, at):
        return None
    closes_at = domain.parse_aware(campaign["closes_at"])
    due = [o for o in offsets() if closes_at - timedelta(seconds=seconds(o)) <= at]
    if not due:
        return None
    offset = min(due, key=seconds)
    key = f"reminder:{campaign['closes_at']}:{offset}"
    if store.recall(f"job:system:{key}"):
        return None  # sent already (by this replica or another)
    total = store.db[ACCOUNTS].count_documents(_reminded())
    return jobs.submit(store, KIND, total, {"closes_at": campaign["closes_at"], "before": offset}, SYSTEM, key)


def _reminded() -> dict:
    """Registered (pending or confirmed), never submitted."""
    return {"status": {"$in": ["pending_confirmation", "active"]}, "ever_submitted": {"$ne": True}}


def step(run: jobs.JobRun, deadline: float) -> bool:
    """Remind a page of PNS per checkpoint, in NIP order."""
    source = run.job["input"]
    while not run.cursor.get("finished"):
        if time.monotonic() >= deadline:
            return False
        page = [d["_id"] for d in run.store.db[ACCOUNTS].find(
            {**_reminded(), "_id": {"$gt": run.cursor.get("after", "")}}, {"_id": 1, "instansi_kode": 1}
        ).sort("_id", 1).limit(PAGE)]
        parts = [_reminder(run.store, nip, source) for nip in page]
        cursor = {"after": page[-1], "finished": len(page) < PAGE} if page else {"finished": True}
        run.checkpoint(run.job.get("done", 0) + len(page), cursor, {"reminded": len(page)},
                       parts=[p for p in parts if p])
    run.finish({"reminded": (run.job.get("counts") or {}).get("reminded", 0)})
    return True


def _reminder(store: EventStore, nip: str, source: dict) -> StreamAppend | None:
    stream = STREAM.format(nip=nip)
    seen = store.read_stream(stream)
    if any(e["data"] == source for e in seen):
        return None  # reminded for this deadline and offset already
    account = store.db[ACCOUNTS].find_one({"_id": nip}, {"instansi_kode": 1}) or {}
    return StreamAppend(stream, len(seen), [NewEvent("ReminderDue", dict(source))], nip,
                        account.get("instansi_kode"))
