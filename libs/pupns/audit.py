"""The platform-wide audit the edge's API and the console both give: one NIP's history across every service's log,
and every service's hash chains checked. Each asks all services at once: the answer takes as long as the slowest
service, not as long as all of them one after another (a full chain check re-hashes a service's whole log)."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

SERVICES = ("identity", "forms", "verification", "documents", "notifications")  # each keeps an event log

# Long-lived threads: each keeps its own RPC client (pupns.rpc_client is thread-local), so a call reuses it.
_pool = ThreadPoolExecutor(max_workers=len(SERVICES), thread_name_prefix="audit")


class Backend(Protocol):
    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any: ...


def _each_service(backend: Backend, method: str, *args: Any) -> dict[str, Any]:
    """`method` called on every service at once; service -> answer (the first error is raised)."""
    futures = {service: _pool.submit(backend.call, service, method, *args) for service in SERVICES}
    return {service: future.result() for service, future in futures.items()}


def history(backend: Backend, nip: str) -> list[dict]:
    """Every service's events about `nip`, each naming its service, in time order (service, then log position,
    between events of the same instant)."""
    merged = []
    for service, events in _each_service(backend, "audit_events", nip).items():
        for event in events or []:
            event = {**event, "service": event.get("service") or service}
            merged.append((event.get("occurred_at") or "", event["service"], event.get("position") or 0, event))
    merged.sort(key=lambda item: item[:3])
    return [event for *_, event in merged]


def verify_every_chain(backend: Backend) -> dict:
    """Every service's chain check summed: {streams_checked, events_checked, broken (each naming its service),
    services: {service: its own report}}. Each service's log is read page by page (no call is long), all services
    at once; the platform's API and console run this as a job instead (identity's `start_audit_verify`)."""
    total: dict[str, Any] = {"streams_checked": 0, "events_checked": 0, "broken": [], "services": {}}
    futures = {service: _pool.submit(verify_service, backend.call, service) for service in SERVICES}
    for service, future in futures.items():
        report = future.result()
        total["services"][service] = report
        total["streams_checked"] += report["streams_checked"]
        total["events_checked"] += report["events_checked"]
        total["broken"].extend({"service": report.get("service") or service, **item} for item in report["broken"])
    return total


def verify_service(call: Callable[..., Any], service: str) -> dict:
    """One service's whole chain check through its bounded `verify_chains_page` RPC, page after page."""
    report: dict[str, Any] = {"service": service, "streams_checked": 0, "events_checked": 0, "broken": []}
    cursor = None
    while True:
        page = call(service, "verify_chains_page", cursor) or {}
        report["streams_checked"] += page.get("streams_checked", 0)
        report["events_checked"] += page.get("events_checked", 0)
        report["broken"] += page.get("broken", [])
        if page.get("done", True):
            return report
        cursor = page["cursor"]
