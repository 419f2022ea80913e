"""Deadline reminders: a registered PNS with no submission is reminded before `closes_at`, once per reminder.

Offsets come from the settings (`PUPNS_REMINDERS`, default `7d,1d`; units s, m, h, d). When an offset's moment has
come, one job per (deadline, offset) appends `ReminderDue` {closes_at, before} on `reminder-{nip}` for every such
PNS, a page per checkpoint in one transaction, so a restart neither skips nor repeats anyone. notifications turns
each event into an e-mail (deduplicated by event id). An extension is a new deadline: its reminders are scheduled
afresh.
"""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from identity.adapters import Deps
from identity.adapters.operational import stream_versions, streams_with
from identity.domain import rules
from identity.domain.accounts import REMINDER_STREAM
from identity.domain.events import ReminderDue
from pupns import jobs
from pupns.campaign import campaign_is_open
from pupns.eventstore import StreamAppend
from pupns.repository import new_event

KIND = "reminders"
PAGE = 200
SYSTEM = {"id": "system", "role": "system", "instansi_kode": None}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def offsets(spec: str) -> list[str]:
    """The configured reminder offsets, e.g. ["7d", "1d"] (malformed entries are ignored)."""
    return [part.strip() for part in spec.split(",") if re.fullmatch(r"\d+[smhd]", part.strip())]


def seconds(offset: str) -> int:
    return int(offset[:-1]) * UNITS[offset[-1]]


def schedule_due(deps: Deps, at: datetime | None = None) -> dict | None:
    """Start the reminder job whose moment has come (only the latest one due: no stale 7-day mail a day before)."""
    campaign = deps.read.campaign()
    at = at or datetime.now(UTC)
    if not campaign or not campaign_is_open(campaign, at):
        return None
    closes_at = rules.parse_aware(campaign["closes_at"])
    due = [o for o in offsets(deps.settings.reminders) if closes_at - timedelta(seconds=seconds(o)) <= at]
    if not due:
        return None
    offset = min(due, key=seconds)
    key = f"reminder:{campaign['closes_at']}:{offset}"
    if deps.store.recall(f"job:system:{key}"):
        return None  # sent already (by this replica or another)
    return jobs.submit(deps.store, KIND, deps.read.reminded_count(),
                       {"closes_at": campaign["closes_at"], "before": offset}, SYSTEM, key)


def step(deps: Deps, run: jobs.JobRun, deadline: float) -> bool:
    """Remind a page of PNS per checkpoint, in NIP order."""
    source = run.job["input"]
    while not run.cursor.get("finished"):
        if time.monotonic() >= deadline:
            return False
        page = deps.read.reminded_page(run.cursor.get("after", ""), PAGE)
        cursor = {"after": page[-1]["_id"], "finished": len(page) < PAGE} if page else {"finished": True}
        parts = _reminders(deps, page, source)
        run.checkpoint(run.job.get("done", 0) + len(page), cursor, {"reminded": len(parts)}, parts=parts)
    run.finish({"reminded": (run.job.get("counts") or {}).get("reminded", 0)})
    return True


def _reminders(deps: Deps, page: list[dict], source: dict) -> list[StreamAppend]:
    """One ReminderDue per PNS of the page not yet reminded for this deadline and offset (three reads a page).
    The versions are read in the same step as the checkpoint that appends after them: a concurrent write fails
    the checkpoint, and the job retries the page."""
    streams = {REMINDER_STREAM.format(nip=doc["_id"]): doc for doc in page}
    versions = stream_versions(deps.store, list(streams))
    done = streams_with(deps.store, list(streams), "ReminderDue",
                        {"closes_at": source["closes_at"], "before": source["before"]})
    event = new_event(ReminderDue(source["closes_at"], source["before"]))
    return [StreamAppend(stream, versions.get(stream, 0), [event], doc["_id"], doc.get("instansi_kode"))
            for stream, doc in streams.items() if stream not in done]
