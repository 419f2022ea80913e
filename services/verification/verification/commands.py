"""Use cases of verification: queues for verifiers, their decisions, and reactions to upstream events."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pupns.actors import Actor, actor_meta, require_instansi, require_role
from pupns.aggregate import Aggregate, DomainError
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent
from verification.domain import Registration, Submission, changes_from_roster, referenced_documents
from verification.projections import Projector

ATTEMPTS = 10
BACKOFF_FIRST, BACKOFF_MAX = 0.01, 0.25  # seconds; ten attempts wait at most about 1.3 s in all
STAFF = ("verifier", "admin")


def load_registration(store: EventStore, nip: str) -> Registration:
    return Registration.load(nip, store.read_stream(f"registration-{nip}"))  # type: ignore[return-value]


def load_submission(store: EventStore, nip: str) -> Submission:
    docs = store.read_stream(f"submission-{nip}")
    submission: Submission = Submission.load(nip, docs)  # type: ignore[assignment]
    submission.instansi_kode = docs[-1]["instansi_kode"] if docs else None
    return submission


def save(store: EventStore, stream: str, aggregate: Aggregate, instansi_kode: str | None, meta: dict,
         idempotency_key: str | None = None) -> None:
    if not aggregate.pending:
        return
    events = [NewEvent(e.type_name(), e.to_data()) for e in aggregate.pending]
    docs = store.append(stream, aggregate.version, events, meta, nip=aggregate.id, instansi_kode=instansi_kode,
                        idempotency_key=idempotency_key, projection=Projector(store.db).apply)
    aggregate.version, aggregate.pending = docs[-1]["version"], []


def decide(attempt: Callable[[], dict]) -> dict:
    """Run get → command → save, retrying when another decision landed in between.

    The loser of a race must end with the winner's state (409 `invalid_state`), not with a generic
    conflict: while the winner's transaction is still open, the loser's append fails with a write conflict
    and a reload still shows the old state, so it waits a little (random, growing) and tries again until the
    winner's decision is visible. Two appends that abort each other are pulled apart by the same jitter.
    """
    for attempt_no in range(ATTEMPTS):
        try:
            return attempt()
        except DomainError as exc:
            raise AppError(exc.code, fields=exc.fields, extra=exc.extra) from exc
        except ConcurrencyError:
            if attempt_no == ATTEMPTS - 1:
                raise AppError("conflict") from None
            time.sleep(backoff(attempt_no))  # green under nameko: only this worker waits
    raise AssertionError("unreachable")


def backoff(attempt_no: int) -> float:
    """Seconds to wait after the n-th (from 0) conflicting attempt: random, doubling, capped."""
    return random.uniform(BACKOFF_FIRST / 2, min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** attempt_no))


# -- registrations ----------------------------------------------------------------
def list_queue(store: EventStore, collection: str, actor: Actor, query: dict, item_fields: tuple[str, ...]) -> dict:
    require_role(actor, *STAFF)
    criteria: dict[str, Any] = {"status": query["status"]}
    if actor["role"] != "admin":
        criteria["instansi_kode"] = actor.get("instansi_kode")
    if query["cursor"]:
        criteria["seq"] = {"$gt": int(query["cursor"])}
    docs = list(store.db[collection].find(criteria).sort("seq", 1).limit(query["limit"] + 1))
    page = docs[:query["limit"]]
    more = len(docs) > query["limit"]
    return {"items": [{k: d.get(k) for k in item_fields} for d in page],
            "next": str(page[-1]["seq"]) if more else None}


def confirm_registration(store: EventStore, nip: str, actor: Actor) -> dict:
    return _decide_registration(store, nip, actor, lambda registration: registration.confirm(), "confirmed")


def reject_registration(store: EventStore, nip: str, reason: str, actor: Actor) -> dict:
    return _decide_registration(store, nip, actor, lambda registration: registration.reject(reason), "rejected")


def _decide(store: EventStore, stream: str, aggregate: Registration | Submission, actor: Actor,
            command: Callable, status: str) -> dict:
    """Check the verifier's instansi, run the command, save; one attempt of a `decide` loop."""
    if aggregate.status is None:
        raise DomainError("not_found")
    require_instansi(actor, aggregate.instansi_kode)
    command(aggregate)
    save(store, stream, aggregate, aggregate.instansi_kode, actor_meta(actor))
    return {"nip": aggregate.id, "status": status}


def _decide_registration(store: EventStore, nip: str, actor: Actor, command: Callable[[Registration], None],
                         status: str) -> dict:
    require_role(actor, *STAFF)
    return decide(lambda: _decide(store, f"registration-{nip}", load_registration(store, nip), actor, command, status))


# -- submissions --------------------------------------------------------------------
EXPORT_FIELDS = ("nip", "nama", "status", "submitted_at", "anomaly_count")


def export_submissions(store: EventStore, actor: Actor, cursor: str | None, limit: int) -> dict:
    """Every submission of the verifier's instansi (all instansi for an admin), any status, by NIP.

    Paged by NIP, not by `seq`: a decision moves a submission's `seq`, which would skip or repeat
    rows of an export read page by page while verifiers keep working.
    """
    require_role(actor, *STAFF)
    criteria: dict[str, Any] = {}
    if actor["role"] != "admin":
        criteria["instansi_kode"] = actor.get("instansi_kode")
    if cursor:
        criteria["_id"] = {"$gt": cursor}
    docs = list(store.db["submissions"].find(criteria, dict.fromkeys(EXPORT_FIELDS, 1))
                .sort("_id", 1).limit(limit + 1))
    page = docs[:limit]
    return {"items": [{k: d.get(k) for k in EXPORT_FIELDS} for d in page],
            "next": page[-1]["_id"] if len(docs) > limit else None}


def get_submission(store: EventStore, nip: str, actor: Actor) -> dict:
    require_role(actor, *STAFF)
    doc = store.db["submissions"].find_one({"_id": nip})
    if not doc:
        raise AppError("not_found")
    require_instansi(actor, doc.get("instansi_kode"))
    registration = store.db["registrations"].find_one({"_id": nip}) or {}
    roster = registration.get("roster") or {}
    roster = roster["row"] if isinstance(roster.get("row"), dict) else roster
    sections = doc.get("sections") or {}
    return {"nip": nip, "nama": doc.get("nama"), "status": doc["status"], "submitted_at": doc.get("submitted_at"),
            "sections": sections, "roster": roster, "changes": changes_from_roster(sections, roster),
            "anomalies": doc.get("anomalies") or [], "documents": referenced_documents(sections),
            "notes": doc.get("notes") or {}}


def decide_submission(store: EventStore, nip: str, actor: Actor, command: Callable[[Submission], None],
                      status: str) -> dict:
    require_role(actor, *STAFF)
    return decide(lambda: _decide(store, f"submission-{nip}", load_submission(store, nip), actor, command, status))


# -- reactions to upstream events ------------------------------------------------------
def consumer_meta(message: dict) -> dict[str, Any]:
    meta = message.get("meta") or {}
    return {"actor": meta.get("actor", "system"), "role": meta.get("role", "system"),
            "correlation_id": message["event_id"]}


def receive_registration(store: EventStore, message: dict, key: str) -> None:
    data, nip = message["data"], message["nip"]
    registration = load_registration(store, nip)
    event = Registration.RegistrationReceived(
        data["registration_number"], data.get("nama"), data.get("email"), data["instansi_kode"],
        data.get("instansi_nama"), data.get("roster") or {}, data.get("registered_at") or message["occurred_at"])
    if registration.receive(event):
        save(store, f"registration-{nip}", registration, data["instansi_kode"], consumer_meta(message), key)


def receive_submission(store: EventStore, message: dict, key: str) -> None:
    data, nip = message["data"], message["nip"]
    submission = load_submission(store, nip)
    submission.receive(data.get("sections") or {}, data["submitted_at"], data.get("anomalies") or [])
    instansi_kode = data.get("instansi_kode") or message.get("instansi_kode")
    save(store, f"submission-{nip}", submission, instansi_kode, consumer_meta(message), key)
