"""The platform-wide hash-chain check as a job (SPEC §4 "Long work", §6): every service's log, page by page.

The check of a large log outlasts a request's deadline, so `GET /api/v1/admin/audit/verify` starts this job. Its
step asks each service in turn for one bounded page of its own check (pupns.integrity.verify_chains_page: identity's
own log directly, the others over RPC) and checkpoints after each page: the cursor says which service and where in
its log; the counts add up streams and events; the broken items, each naming its service, are the checkpoint's
items. A resumed job goes on from the last page checkpointed: no page is counted twice, none is skipped.
"""
from __future__ import annotations

import time
from typing import Any, Protocol

from identity.adapters import Deps
from pupns import audit, jobs
from pupns.actors import Actor, require_role
from pupns.errors import AppError
from pupns.integrity import AUDIT_JOB_TAG, verify_chains_page

KIND = "audit_verify"
PAGE_TIMEOUT = 30.0  # seconds a service may take to answer one page (a page is ~2 s of work)
PAUSE_SECONDS = 5.0  # after a service did not answer, before the page is asked again


class Calls(Protocol):
    def call(self, service: str, method: str, *args: Any, timeout: float = ..., **kwargs: Any) -> Any: ...


def start(deps: Deps, actor: Actor, idempotency_key: str | None = None) -> dict:
    """A job checking every service's hash chains; the same idempotency key returns the same job, and so does
    asking while a check is still queued or running (an administrator reloading the page, a monitor polling: one
    pass over every log, not one per request)."""
    require_role(actor, "admin")
    # The key is the client's for this kind of job only: the same key sent with a roster import must not hand back
    # the import's job as the audit's.
    key = f"{KIND}:{idempotency_key}" if idempotency_key else None
    return jobs.submit(deps.store, KIND, 0, {"services": list(audit.SERVICES)}, actor, key,
                       job_id=jobs.new_job_id(deps.store.service, AUDIT_JOB_TAG), join_active=True)


def step(deps: Deps, calls: Calls | None, run: jobs.JobRun, deadline: float) -> bool:
    """Check pages until the deadline, a checkpoint after each; True once the job is finished."""
    if calls is None:
        raise AppError("internal_error", "Pemeriksaan rantai hash memerlukan panggilan ke layanan lain.")
    services = run.job["input"]["services"]
    while (index := run.cursor.get("service", 0)) < len(services):
        if time.monotonic() >= deadline:
            return False
        service = services[index]
        try:
            total = None if run.cursor else _log_sizes(deps, calls, services)
            page = _page(deps, calls, service, run.cursor.get("page"))
        except AppError as exc:
            return _busy(run, exc, service)
        cursor = {"service": index + 1} if page["done"] else {"service": index, "page": page["cursor"]}
        counts = {"streams": page["streams_checked"], "events": page["events_checked"],
                  f"{service}_streams": page["streams_checked"], f"{service}_events": page["events_checked"]}
        items = [{"service": service, **item} for item in page["broken"]]
        run.checkpoint(run.job.get("done", 0) + page["events_checked"], cursor, counts, items, total=total)
    run.finish(result(services, run.job.get("counts") or {}, run.job.get("items") or []))
    return True


def result(services: list[str], counts: dict, broken: list[dict]) -> dict:
    """The spec's {streams_checked, events_checked, broken} (broken items name their service; at most
    pupns.jobs.ITEMS_KEPT of them), and each service's own figures."""
    return {"streams_checked": counts.get("streams", 0), "events_checked": counts.get("events", 0), "broken": broken,
            "services": {s: {"streams_checked": counts.get(f"{s}_streams", 0),
                             "events_checked": counts.get(f"{s}_events", 0),
                             "broken": sum(1 for item in broken if item.get("service") == s)} for s in services}}


def _page(deps: Deps, calls: Calls, service: str, cursor: dict | None) -> dict:
    if service == deps.store.service:
        return verify_chains_page(deps.store, cursor)
    return calls.call(service, "verify_chains_page", cursor, timeout=PAGE_TIMEOUT)


def _log_sizes(deps: Deps, calls: Calls, services: list[str]) -> int:
    """The progress bar's total: every log's size as its store estimates it (an estimate: events appended while the
    job runs are checked too, and the count is the store's cheap one, not an exact count)."""
    return sum(deps.store.events.estimated_document_count() if service == deps.store.service
               else calls.call(service, "event_log_size", timeout=PAGE_TIMEOUT)["events"] for service in services)


def _busy(run: jobs.JobRun, exc: AppError, service: str) -> bool:
    """A service that did not answer: the page is asked again later; after MAX_FAILURES in a row the job fails."""
    if exc.code != "unavailable":
        raise exc
    if run.failed_once_more() >= jobs.MAX_FAILURES:
        run.fail("unavailable", f"Layanan {service} tidak menjawab; jalankan pemeriksaan lagi nanti.")
        return True
    run.pause(PAUSE_SECONDS)
    return False
