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
        page = list(run.store.db[ACCOUNTS].find(
            {**_reminded(), "_id": {"$gt": run.cursor.get("after", "")}}, {"_id": 1, "instansi_kode": 1}
        ).sort("_id", 1).limit(PAGE))
        cursor = {"after": page[-1]["_id"], "finished": len(page) < PAGE} if page else {"finished": True}
        parts = _reminders(run.store, page, source)
        run.checkpoint(run.job.get("done", 0) + len(page), cursor, {"reminded": len(parts)}, parts=parts)
    run.finish({"reminded": (run.job.get("counts") or {}).get("reminded", 0)})
    return True


def _reminders(store: EventStore, page: list[dict], source: dict) -> list[StreamAppend]:
    """One ReminderDue per PNS of the page not yet reminded for this deadline and offset (three reads a page)."""
    streams = {STREAM.format(nip=doc["_id"]): doc for doc in page}
    versions = {h["_id"]: h["version"] for h in store.heads.find({"_id": {"$in": list(streams)}}, {"version": 1})}
    done = {e["stream"] for e in store.events.find(
        {"stream": {"$in": list(streams)}, "type": "ReminderDue", "data.closes_at": source["closes_at"],
         "data.before": source["before"]}, {"stream": 1})}
    return [StreamAppend(stream, versions.get(stream, 0), [NewEvent("ReminderDue", dict(source))], doc["_id"],
                         doc.get("instansi_kode")) for stream, doc in streams.items() if stream not in done]
