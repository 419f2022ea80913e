"""Long work as stored jobs (SPEC §4 "Long work and consistency").

A job is the event stream `job-{id}` in the owning service's database: `JobQueued`, `JobStarted`, one
`JobProgressed` per checkpoint, then `JobFinished` or `JobFailed`. The read model `jobs` mirrors it; the
operational collection `job_leases` holds the lease that lets exactly one process of any replica run a job at a
time. A process killed mid-job stops renewing its lease and another one resumes from the last checkpoint. A
checkpoint can carry other streams' events in the same transaction (`JobRun.checkpoint(parts=...)`), so a
chunk's effects and the cursor past it commit together: a chunk is never applied twice, none is skipped.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.errors import DuplicateKeyError

from pupns import config, polling
from pupns.actors import Actor, actor_meta
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent, Projection, StreamAppend

log = logging.getLogger(__name__)

JOBS = "jobs"
LEASES = "job_leases"  # operational (like the login throttle): who runs a job until when; not events, not replayed
CLAIM_WINDOW = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STREAM = "job-{id}"
STATUS_PATH = "/api/v1/admin/jobs/{id}"
ITEMS_KEPT = 10_000  # rejected rows kept in a result; `rejected_total` always counts all of them
ACTIVE = ("queued", "running")
# After a conflict the step waits RETRY_SECONDS, doubling with each conflict in a row up to MAX_RETRY_SECONDS: a
# killed runner's transaction may hold its streams for a minute, and every try redoes the whole step (an import's
# chunk of 1,000 rows) before it meets the conflict at commit.
RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 10.0
MAX_FAILURES = 5  # unexpected errors in a row before a job is marked failed (transient ones heal before that)
SUBMITTED = polling.Signal("jobs")  # wakes this process's job runner at once (pupns.polling)


def lease_seconds() -> float:
    """How long a runner owns a job without renewing it (a killed runner's job resumes after this)."""
    return config.job_lease_seconds()


def new_job_id(service: str, tag: str | None = None) -> str:
    """Job ids name their service, so the edge knows whom to ask (and, with `tag`, what kind of job they are)."""
    return f"{service}-{tag}-{uuid.uuid4().hex}" if tag else f"{service}-{uuid.uuid4().hex}"


def public(doc: dict) -> dict:
    """The spec's job body."""
    return {"id": doc["_id"], "kind": doc["kind"], "status": doc["status"],
            "progress": {"done": doc.get("done", 0), "total": doc.get("total", 0)},
            "result": doc.get("result"), "error": doc.get("error"), "created_at": doc.get("created_at"),
            "finished_at": doc.get("finished_at"), "status_url": STATUS_PATH.format(id=doc["_id"])}


def get(store: EventStore, job_id: str) -> dict:
    """A job's body; 404 `not_found` when there is none."""
    doc = store.db[JOBS].find_one({"_id": job_id}) if isinstance(job_id, str) else None
    if doc is None:
        raise AppError("not_found", "Pekerjaan tidak ditemukan.")
    return public(doc)


def apply(db: Any, doc: dict, session: ClientSession | None) -> None:
    """Fold one `job-{id}` event into the `jobs` read model (live and on replay)."""
    data, at, job_id = doc["data"], doc["meta"]["occurred_at"], doc["stream"][len("job-"):]
    sets: dict[str, Any] = {"version": doc["version"]}
    update: dict[str, Any] = {"$set": sets}
    # When the job last had a runner's time (while queued: when it arrived). The claim serves the job that has waited
    # longest, so a long job (a national roster import) takes turns with jobs queued behind it instead of holding
    # its process until it ends (a campaign close at its deadline, an audit an administrator is waiting for).
    if doc["type"] in ("JobQueued", "JobStarted", "JobProgressed"):
        sets["worked_at"] = at
    if doc["type"] == "JobQueued":
        sets.update({"kind": data["kind"], "status": "queued", "done": 0, "total": data.get("total", 0),
                     "input": data.get("input") or {}, "cursor": {}, "counts": {}, "items": [],
                     "result": None, "error": None, "created_at": at, "finished_at": None,
                     "meta": {k: v for k, v in doc["meta"].items() if k not in ("occurred_at", "service")}})
    elif doc["type"] == "JobStarted":
        sets.update({"status": "running", "started_at": at})
    elif doc["type"] == "JobProgressed":
        sets.update({"done": data["done"], "cursor": data.get("cursor") or {}})
        if data.get("total") is not None:
            sets["total"] = data["total"]
        if data.get("counts"):
            update["$inc"] = {f"counts.{k}": v for k, v in data["counts"].items()}
        if data.get("items"):
            update["$push"] = {"items": {"$each": data["items"], "$slice": ITEMS_KEPT}}
    elif doc["type"] == "JobFinished":
        sets.update({"status": "done", "result": data.get("result"), "finished_at": at, "items": []})
    elif doc["type"] == "JobFailed":
        sets.update({"status": "failed", "error": data.get("error"), "finished_at": at})
    db[JOBS].update_one({"_id": job_id}, update, upsert=True, session=session)


def _projection(store: EventStore, other: Projection | None) -> Projection:
    def project(docs: list[dict], session: ClientSession) -> None:
        mine = [d for d in docs if d["stream"].startswith("job-")]
        rest = [d for d in docs if not d["stream"].startswith("job-")]
        if rest and other:
            other(rest, session)
        for doc in mine:
            apply(store.db, doc, session)
    return project


def submit(store: EventStore, kind: str, total: int, input: dict, actor: Actor, idempotency_key: str | None = None,
           job_id: str | None = None, join_active: bool = False) -> dict:
    """Store a new job (or find the one this idempotency key already created); returns its body. `join_active`: a
    job of this kind still queued or running is returned instead of a second one (the key, if any, then names it),
    for work whose second run would only repeat the first (two starts at the same instant may still make two)."""
    job_id = job_id or new_job_id(store.service)
    key = f"job:{actor.get('id')}:{idempotency_key}" if idempotency_key else None
    if key and (seen := store.recall(key)):
        return get(store, seen["result"]["job_id"])
    if join_active and (active := store.db[JOBS].find_one({"kind": kind, "status": {"$in": list(ACTIVE)}},
                                                           sort=[("created_at", ASCENDING)])):
        if key:
            store.remember(key, {"job_id": active["_id"]})
        return public(active)
    event = NewEvent("JobQueued", {"job_id": job_id, "kind": kind, "total": total, "input": input})
    try:
        store.append(STREAM.format(id=job_id), 0, [event], actor_meta(actor), idempotency_key=key,
                     idempotency_result={"job_id": job_id}, projection=_projection(store, None))
    except AlreadyApplied as exc:
        return get(store, exc.result["job_id"])
    SUBMITTED.set()
    return get(store, job_id)


def claim(store: EventStore, owner: str, kinds: Sequence[str]) -> dict | None:
    """Take the active job that has waited longest for a runner's time (`worked_at`) and whose lease is free,
    expired or already ours (atomic across replicas): a job left unfinished at the end of its budget takes its
    next turn after the jobs that waited meanwhile."""
    now = datetime.now(UTC)
    for job in store.db[JOBS].find({"status": {"$in": list(ACTIVE)}, "kind": {"$in": list(kinds)}}).sort(
            [("worked_at", ASCENDING), ("created_at", ASCENDING)]).limit(CLAIM_WINDOW):
        if _lease(store, job["_id"], owner, now):
            return job
    return None


def _lease(store: EventStore, job_id: str, owner: str, now: datetime) -> bool:
    try:
        return store.db[LEASES].find_one_and_update(
            {"_id": job_id, "$and": [{"$or": [{"until": {"$lt": now}}, {"owner": owner}]},
                                     {"$or": [{"retry_at": None}, {"retry_at": {"$lt": now}}]}]},
            {"$set": {"until": now + timedelta(seconds=lease_seconds()), "owner": owner}},
            upsert=True, return_document=ReturnDocument.AFTER) is not None
    except DuplicateKeyError:
        return False  # held by another runner (or pausing after a conflict)


class JobRun:
    """One runner's hold on one job: checkpoints, finish, fail; the lease is renewed at each checkpoint."""

    def __init__(self, store: EventStore, job: dict, owner: str, projection: Projection | None = None):
        self.store, self.job, self.owner, self.projection = store, job, owner, projection
        self.id, self.stream = job["_id"], STREAM.format(id=job["_id"])

    @property
    def cursor(self) -> dict:
        return self.job.get("cursor") or {}

    @property
    def meta(self) -> dict:
        return {**(self.job.get("meta") or {}), "job_id": self.id}

    def _append(self, events: list[NewEvent], parts: Sequence[StreamAppend] = (),
                projection: Projection | None = None) -> None:
        own = StreamAppend(self.stream, self.job["version"], events)
        self.store.append_many([*parts, own], self.meta,
                               projection=_projection(self.store, projection or self.projection))
        self.store.db[LEASES].update_one({"_id": self.id, "owner": self.owner}, {"$set": {
            "until": datetime.now(UTC) + timedelta(seconds=lease_seconds()), "conflicts": 0, "failures": 0}})
        self.job = self.store.db[JOBS].find_one({"_id": self.id})

    def start(self) -> None:
        if self.job["status"] == "queued":
            self._append([NewEvent("JobStarted", {})])

    def checkpoint(self, done: int, cursor: dict, counts: dict | None = None, items: list | None = None,
                   parts: Sequence[StreamAppend] = (), total: int | None = None,
                   projection: Projection | None = None) -> None:
        """Record progress past `cursor`, atomically with `parts` (other streams' events, read by `projection`)."""
        data = {"done": done, "cursor": cursor, "counts": counts or {}, "items": items or []}
        if total is not None:
            data["total"] = total
        self._append([NewEvent("JobProgressed", data)], parts, projection)

    def finish(self, result: dict) -> None:
        self._append([NewEvent("JobFinished", {"result": result})])
        self.store.db[LEASES].delete_one({"_id": self.id})

    def fail(self, code: str, message: str) -> None:
        self._append([NewEvent("JobFailed", {"error": {"code": code, "message": message}})])
        self.store.db[LEASES].delete_one({"_id": self.id})

    def pause(self, seconds: float) -> None:
        """No runner (this one neither) takes the job for `seconds`."""
        self.store.db[LEASES].update_one({"_id": self.id}, {"$set": {
            "retry_at": datetime.now(UTC) + timedelta(seconds=seconds)}})

    def pause_after_conflict(self) -> float:
        """Pause after one more conflict in a row (since the last step that went through); returns the seconds."""
        seconds = min(RETRY_SECONDS * 2 ** (self._once_more("conflicts") - 1), MAX_RETRY_SECONDS)
        self.pause(seconds)
        return seconds

    def failed_once_more(self) -> int:
        """Count an unexpected failure of a step; returns how many in a row (since the last step that went
        through: a long job is not failed by faults spread over its hours)."""
        return self._once_more("failures")

    def _once_more(self, counter: str) -> int:
        """Add one to a counter of the job's lease; returns its new value."""
        return self.store.db[LEASES].find_one_and_update(
            {"_id": self.id}, {"$inc": {counter: 1}}, return_document=ReturnDocument.AFTER)[counter]

    def release(self) -> None:
        """Let the next tick (of any replica) take the job at once."""
        self.store.db[LEASES].update_one({"_id": self.id, "owner": self.owner}, {"$set": {"until": EPOCH}})


Step = Callable[[JobRun, float], bool]  # (run, deadline as time.monotonic()) -> True when the job finished


def run_pending(store: EventStore, steps: dict[str, Step], owner: str, budget: float) -> int:
    """Run claimable jobs for up to `budget` seconds; returns how many were worked on.

    A job still unfinished when the budget is spent keeps its (renewed) lease: this owner's next call goes on.
    """
    deadline, worked = time.monotonic() + budget, 0
    while time.monotonic() < deadline:
        job = claim(store, owner, list(steps))
        if job is None:
            return worked
        run, worked = JobRun(store, job, owner), worked + 1
        try:
            run.start()
            if not steps[job["kind"]](run, deadline):
                return worked
        except AppError as exc:
            run.fail(exc.code, exc.message)
        except ConcurrencyError:
            # A stream of this step moved (another writer, or a transaction of a killed runner still held by
            # the store): nothing of the step was stored; it is tried again on the next call.
            log.info("job %s: concurrent write, retrying the step in %s s", run.id, run.pause_after_conflict())
            return worked
        except Exception:
            log.exception("job %s failed a step", run.id)
            if run.failed_once_more() >= MAX_FAILURES:
                run.fail("internal_error", "Pekerjaan gagal berulang kali; lihat log layanan.")
            else:
                run.release()  # any replica may try the step again
            return worked
    return worked
