"""The fuzzer of tests/e2e/test_fuzz_api.py: schemathesis cases from the OpenAPI document, each answer checked
against the document, and every rejected (4xx) request checked to have stored nothing (SPEC §4)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from pymongo import MongoClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pupns_dev.stack import StackConfig
from pupns_dev.waiting import wait_until

EXAMPLES = 12
QUIET_SECONDS = 1.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SERVICES = ("identity", "forms", "verification", "documents", "notifications", "keys")
# Not the platform's records: the edge's own database (waiting line, rate windows, the idempotency replay cache of
# answers, rejections included), counters of positions, and the sequence: its blocks number events already counted in
# `events`, on the sequencer's own pace (up to 8 s behind), so a block can land in a later request's window.
# Everything else a request could store is counted.
UNWATCHED = {"counters", "sequence"}
# Checked around every request: each service's log, and what is stored without an event (data keys, staged uploads,
# uploaded contents, e-mails, staff logins, the login throttle).
PER_REQUEST = [*((name, "events") for name in SERVICES if name != "keys"), ("keys", "data_keys"),
               ("keys", "erasures"), ("identity", "job_inputs"), ("identity", "staff_logins"),
               ("identity", "login_throttle"), ("documents", "blobs"), ("notifications", "emails")]
# Rejections the spec itself asks to remember (each exemption is one error code and what it may add):
EXEMPT = {
    # SPEC §3 "Anomalies": an attempt for a NIP not on the roster is counted as a 'PNS selundupan' candidate.
    "nip_not_in_roster": {"pupns_identity.events", "pupns_identity.streams", "pupns_identity.selundupan"},
    # SPEC "Abuse": five nik_mismatch answers in 24 h close the NIP to registration: each one is counted.
    "nik_mismatch": {"pupns_identity.events", "pupns_identity.streams"},
    # SPEC "Abuse": failed logins slow down further attempts on that username (operational, no event).
    "invalid_credentials": {"pupns_identity.login_throttle"},
    "too_many_attempts": {"pupns_identity.login_throttle"},
}


class StoreWatch:
    """Document counts of what a request could store, in two sizes.

    Per request (cheap, a dozen queries): every service's `events` and the collections written without an event
    (PER_REQUEST). Per batch of one operation (every collection of every service database and the key store).
    Read models are written in the same transaction as their events, so the event counts stand for them."""

    def __init__(self, cfg: StackConfig):
        self.clients = {uri: MongoClient(uri) for uri in {cfg.mongo_uri_of(name) for name in SERVICES}}
        self.db_of = {f"{cfg.db_prefix}{name}": self.clients[cfg.mongo_uri_of(name)][f"{cfg.db_prefix}{name}"]
                      for name in SERVICES}  # each database in the store process that holds it
        self.databases = list(self.db_of)
        self.per_request = [(f"{cfg.db_prefix}{db}", collection) for db, collection in PER_REQUEST]

    def snapshot(self, every_collection: bool = False) -> dict[str, int]:
        counts = {}
        if not every_collection:
            for name, collection in self.per_request:
                counts[f"{name}.{collection}"] = self.db_of[name][collection].estimated_document_count()
            return counts
        for name in self.databases:
            db = self.db_of[name]
            for collection in db.list_collection_names():
                if collection not in UNWATCHED:
                    counts[f"{name}.{collection}"] = db[collection].estimated_document_count()
        return counts

    def settled(self, every_collection: bool = False) -> dict[str, int]:
        """A snapshot once asynchronous work of earlier requests (consumers, jobs, e-mails) has stopped: unchanged
        for QUIET_SECONDS, longer than the services' timer ticks (identity's deadline checks and jobs: 0.5 s)."""
        seen: list[tuple[float, dict]] = []

        def probe() -> dict | None:
            now, counts = time.monotonic(), self.snapshot(every_collection)
            if seen and seen[-1][1] != counts:
                seen.clear()
            seen.append((now, counts))
            return counts if now - seen[0][0] >= QUIET_SECONDS else None
        return wait_until(probe, timeout=60, interval=0.1, message="store quiet")

    def new_events(self, before: dict[str, int], after: dict[str, int]) -> list[str]:
        """The events stored between two snapshots, as `database: stream type` (what a report should show)."""
        found = []
        for name in self.databases:
            grown = after.get(f"{name}.events", 0) - before.get(f"{name}.events", 0)
            if grown > 0:
                latest = self.db_of[name]["events"].find({}, {"stream": 1, "type": 1}).sort("position", -1)
                found += [f"{name}: {e['stream']} {e['type']}" for e in latest.limit(grown)]
        return found

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def changed(before: dict[str, int], after: dict[str, int], code: str | None) -> dict[str, tuple[int, int]]:
    """What differs between two snapshots, less what the rejection's code is allowed to add."""
    allowed = EXEMPT.get(code or "", set())
    return {key: (before.get(key, 0), after.get(key, 0)) for key in sorted(set(before) | set(after))
            if before.get(key, 0) != after.get(key, 0) and key not in allowed}


def error_code(response) -> str | None:
    try:
        return (response.json().get("error") or {}).get("code")
    except Exception:  # noqa: BLE001 - a non-JSON answer has no code; the schema checks judge it
        return None


@dataclass
class Fuzzer:
    """Runs the cases of one operation as one actor; collects rejected requests that stored something."""

    watch: StoreWatch
    stored: list[str] = field(default_factory=list)
    rejected_checked: int = 0
    retried: list[str] = field(default_factory=list)
    last: dict[str, int] | None = None
    answers: list[tuple[int, str | None]] = field(default_factory=list)
    codes: list[str | None] = field(default_factory=list)  # every rejection's error code, for the report

    def fuzz(self, operation, headers: dict) -> None:
        """Up to EXAMPLES generated requests for one operation; raises on the first answer outside the document.

        Each rejected request is checked on the per-request counts; a batch of only rejected requests is checked
        again on every collection (once more from a quiet store, the same derandomized cases, when it differs)."""
        before = self.watch.snapshot(every_collection=True)
        self._run(operation, headers)
        diff = self._batch_changed(before)
        if diff:
            self.retried.append(f"{operation.label} (batch) {diff}")
            before = self.watch.settled(every_collection=True)
            self._run(operation, headers)
            diff = self._batch_changed(before)
            if diff:
                self.stored.append(f"{operation.label}: only rejected requests, yet stored {diff}")

    def _run(self, operation, headers: dict) -> None:
        self.answers, self.last = [], None

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = self.call(case, headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
        run()

    def _batch_changed(self, before: dict[str, int]) -> dict[str, tuple[int, int]]:
        """What every collection shows changed since `before`, if each request of the batch was rejected."""
        if not self.answers or not all(400 <= status < 500 for status, _ in self.answers):
            return {}
        after = self.watch.snapshot(every_collection=True)
        allowed = {key for _, code in self.answers for key in EXEMPT.get(code or "", ())}
        return {key: span for key, span in changed(before, after, None).items() if key not in allowed}

    def call(self, case, headers: dict):
        """One request; when rejected, the store must be as before it (retried once alone if not, see below)."""
        before = self.last if self.last is not None else self.watch.snapshot()
        response = case.call(headers=headers, timeout=30)
        self.last = self.watch.snapshot()
        self.answers.append((response.status_code, error_code(response)))
        if not 400 <= response.status_code < 500:
            return response
        self.rejected_checked += 1
        self.codes.append(error_code(response))
        if not changed(before, self.last, error_code(response)):
            return response
        # Perhaps the late work of an earlier accepted request (a consumer, a job): once the store is quiet,
        # the same request again, alone. A rejected request is harmless to repeat: it stores nothing.
        self.retried.append(f"{case.operation.label} {response.status_code} {changed(before, self.last, None)}")
        before = self.watch.settled()
        again = case.call(headers=headers, timeout=30)
        self.last = self.watch.snapshot()
        diff = changed(before, self.last, error_code(again))
        if 400 <= again.status_code < 500 and diff:
            self.stored.append(f"{case.operation.label} answered {again.status_code} {error_code(again)} and "
                               f"stored {diff} {self.watch.new_events(before, self.last)}:\n"
                               f"    {case.as_curl_command(headers=headers)}")
        return response
