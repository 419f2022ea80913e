"""verification's use cases: the verifiers' queues, their decisions, and reactions to upstream events."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.contracts.forms import FormSubmitted
from pupns.contracts.identity import RegistrationSubmitted
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError
from pupns.personal import ERASED_MARKER, opened, seal_fields
from pupns.repository import Repository, rerun_on_collision
from verification.adapters import Deps
from verification.adapters.projections import Scope
from verification.domain import Registration, Submission, changes_from_roster, referenced_documents
from verification.domain.events import RegistrationReceived
from verification.domain.grants import checked_grants
from verification.settings import Settings

STAFF = ("verifier", "admin")
EXPORT_FIELDS = ("nip", "nama", "status", "submitted_at", "anomaly_count")
A = TypeVar("A", Registration, Submission)
GRANTS_SETTLE_MARGIN = 0.2  # seconds beyond the relays' grants cache: a translation under way finishes


def decide(attempt: Callable[[], dict], settings: Settings) -> dict:
    """Run get → command → save, retrying when another decision landed in between.

    The loser of a race must end with the winner's state (409 `invalid_state`), not with a generic
    conflict: while the winner's transaction is still open, the loser's append fails with a write conflict
    and a reload still shows the old state, so it waits a little (random, growing) and tries again until the
    winner's decision is visible (`pupns.repository.rerun_on_collision`).
    """
    try:
        return rerun_on_collision(attempt, settings.decision_attempts, settings.backoff_first, settings.backoff_max)
    except DomainError as exc:
        raise AppError(exc.code, fields=exc.fields, extra=exc.extra) from exc
    except ConcurrencyError:
        raise AppError("conflict") from None


def scope_of(actor: Actor) -> Scope:
    """An administrator sees every instansi; a verifier only their own."""
    return Scope(every_instansi=actor["role"] == "admin", instansi_kode=actor.get("instansi_kode"))


def require_visible(deps: Deps, nip: str, actor: Actor, record_instansi: str | None, exists: bool) -> None:
    """403 `forbidden` for a verifier unless the NIP is of their instansi; 404 for a missing record of it.

    A verifier must not learn which NIPs exist in other instansi (issue 11): a NIP with a record elsewhere and
    a NIP never issued answer alike, and both paths make the same one read-model lookup (similar timing).
    404 is only for a NIP this service knows (by its registration) to be of the verifier's own instansi."""
    if actor.get("role") == "admin":
        if not exists:
            raise AppError("not_found")
        return
    if exists and record_instansi is not None and record_instansi == actor.get("instansi_kode"):
        return
    known = (deps.read.registration(nip) or {}).get("instansi_kode")
    if not exists and known is not None and known == actor.get("instansi_kode"):
        raise AppError("not_found")
    raise AppError("forbidden")


def _decide(deps: Deps, repository: Repository[A], nip: str, actor: Actor, command: Callable[[A], None],
            status: str, idempotency_key: str | None = None) -> dict:
    """Check the verifier's instansi, run the command, save after the loaded version; retried by `decide`.

    A repeat sent with the same idempotency key (a retry after a timeout whose first try went through) gets the
    first answer instead of `invalid_state`; the key is the verifier's own, so it is stored per actor and NIP.
    The first try may still be running when the retry arrives: a refusal, and every attempt after a collision,
    looks for the key again."""
    require_role(actor, *STAFF)
    answer = {"nip": nip, "status": status}
    key = f"{status}:{nip}:{actor.get('id')}:{idempotency_key}" if idempotency_key else None

    def attempt() -> dict:
        if key and repository.store.recall(key):
            return answer
        aggregate = repository.get(nip)
        require_visible(deps, nip, actor, aggregate.instansi_kode, aggregate.status is not None)
        try:
            command(aggregate)
        except DomainError:
            if key and repository.store.recall(key):  # the first try committed after this one looked
                return answer
            raise
        try:
            repository.save(aggregate, actor_meta(actor), idempotency_key=key, idempotency_result=answer)
        except AlreadyApplied:
            pass
        return answer

    return decide(attempt, deps.settings)


# -- queues --------------------------------------------------------------------------
def list_queue(deps: Deps, collection: str, actor: Actor, query: dict, item_fields: tuple[str, ...]) -> dict:
    """One page of a verifier queue (`registrations` or `submissions`) in `query["status"]`, oldest first."""
    require_role(actor, *STAFF)
    after = int(query["cursor"]) if query["cursor"] else None
    docs = deps.read.queue_page(collection, query["status"], scope_of(actor), after, query["limit"] + 1)
    page = docs[:query["limit"]]
    more = len(docs) > query["limit"]
    return {"items": [{k: d.get(k) for k in item_fields} for d in page],
            "next": str(page[-1]["seq"]) if more else None}


# -- registrations ---------------------------------------------------------------------
def confirm_registration(deps: Deps, nip: str, actor: Actor, idempotency_key: str | None = None) -> dict:
    return _decide(deps, deps.registrations, nip, actor, lambda r: r.confirm(), "confirmed", idempotency_key)


def reject_registration(deps: Deps, nip: str, reason: str, actor: Actor, idempotency_key: str | None = None) -> dict:
    return _decide(deps, deps.registrations, nip, actor, lambda r: r.reject(reason), "rejected", idempotency_key)


# -- submissions --------------------------------------------------------------------------
def export_submissions(deps: Deps, actor: Actor, cursor: str | None, limit: int) -> dict:
    """Every submission of the verifier's instansi (all instansi for an admin), any status, by NIP.

    Paged by NIP, not by `seq`: a decision moves a submission's `seq`, which would skip or repeat
    rows of an export read page by page while verifiers keep working.
    """
    require_role(actor, *STAFF)
    docs = deps.read.submissions_by_nip(scope_of(actor), cursor, EXPORT_FIELDS, limit + 1)
    page = docs[:limit]
    return {"items": [{k: d.get(k) for k in EXPORT_FIELDS} for d in page],
            "next": page[-1]["_id"] if len(docs) > limit else None}


def get_submission(deps: Deps, nip: str, actor: Actor) -> dict:
    """A submission with the roster row it started from, the changes against it and what it cites."""
    require_role(actor, *STAFF)
    doc = deps.read.submission(nip)
    require_visible(deps, nip, actor, (doc or {}).get("instansi_kode"), bool(doc))
    # A verifier of the PNS's instansi or an admin: the one reader the sealed values are opened for.
    roster, roster_erased = opened(deps.codec, nip, (deps.read.registration(nip) or {}).get("roster") or {})
    sections, sections_erased = opened(deps.codec, nip, doc.get("sections") or {})
    erased = {ERASED_MARKER: True} if roster_erased or sections_erased else {}
    return {"nip": nip, "nama": doc.get("nama"), "status": doc["status"], "submitted_at": doc.get("submitted_at"),
            "sections": sections, "roster": roster, "changes": changes_from_roster(sections, roster),
            "anomalies": doc.get("anomalies") or [], "documents": referenced_documents(sections),
            "notes": doc.get("notes") or {}, **erased}


def approve_submission(deps: Deps, nip: str, actor: Actor, idempotency_key: str | None = None) -> dict:
    return _decide(deps, deps.submissions, nip, actor, lambda s: s.approve(), "verified", idempotency_key)


def return_submission(deps: Deps, nip: str, notes: dict[str, str], actor: Actor,
                      idempotency_key: str | None = None) -> dict:
    return _decide(deps, deps.submissions, nip, actor, lambda s: s.return_with_notes(notes), "returned",
                   idempotency_key)


# -- reactions to upstream events ------------------------------------------------------------
def consumer_meta(message: dict) -> dict[str, Any]:
    """Who caused it (the upstream actor) and which event: the audit trail's why."""
    meta = message.get("meta") or {}
    return {"actor": meta.get("actor", "system"), "role": meta.get("role", "system"),
            "correlation_id": message["event_id"]}


def receive_registration(deps: Deps, submitted: RegistrationSubmitted, meta: dict, key: str) -> None:
    """Queue a new registration (or a fresh attempt after a rejection) for its instansi's verifiers."""
    nip = submitted.nip or ""
    # Copied as the tokens identity sealed; anything still in clear (an older producer) is sealed here.
    event = RegistrationReceived(
        submitted.registration_number, submitted.nama, deps.codec.seal(nip, submitted.email),
        submitted.instansi_kode or "", submitted.instansi_nama, seal_fields(deps.codec, nip, submitted.roster or {}),
        submitted.registered_at or submitted.occurred_at or "")
    # Most registrations are a NIP's first: tried on a new stream first, which costs no read; a registration
    # after a rejection finds the stream there and is decided on the stream as it is.
    for read in (False, True):
        registration = deps.registrations.get(nip) if read else deps.registrations.new(nip)
        if not registration.receive(event):
            return
        try:
            deps.registrations.save(registration, meta, idempotency_key=key)
            return
        except ConcurrencyError:
            if read:  # the stream as read moved meanwhile: the consumer's retry decides again
                raise


def receive_submission(deps: Deps, submitted: FormSubmitted, meta: dict, key: str) -> None:
    """Open a new review of a submitted form."""
    nip = submitted.nip or ""
    submission = deps.submissions.get(nip)
    submission.receive(seal_fields(deps.codec, nip, submitted.sections), submitted.submitted_at, submitted.anomalies)
    submission.instansi_kode = submitted.instansi_kode  # kept on the stored envelope, as the submission's
    deps.submissions.save(submission, meta, idempotency_key=key)


# -- public subscribers' field grants (SPEC §5, §7) -----------------------------------------
def set_subscriber_grants(deps: Deps, name: object, fields: object, actor: Actor) -> dict:
    """An administrator grants a subscriber exactly `fields` in clear (empty: withdraws); audited per change."""
    require_role(actor, "admin")
    try:
        name, granted = checked_grants(name, fields)
    except DomainError as exc:
        raise AppError(exc.code, fields=exc.fields) from exc
    changed: list[bool] = []

    def grant(aggregate):
        changed.append(aggregate.set(granted))
        return aggregate

    try:
        deps.grants.run(name, grant, actor_meta(actor))
    except ConcurrencyError:
        raise AppError("conflict") from None
    if changed[-1] and deps.settings.grants_cache_seconds > 0:
        # Every relay (one per replica) reuses the grants it read for a while: answer only once all of them
        # publish with the new ones, so the CLI can then move the subscriber's binding without losing an event.
        time.sleep(deps.settings.grants_cache_seconds + GRANTS_SETTLE_MARGIN)
    return {"name": name, "fields": granted, "changed": changed[-1]}


def subscriber_grants(deps: Deps) -> list[dict]:
    """Every subscriber granted at least one field, by name (field names only: nothing personal)."""
    return [{"name": name, "fields": fields} for name, fields in deps.read.subscriber_grants().items()]
