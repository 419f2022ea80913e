"""A PNS's account after registration: what `GET /me` and a receipt show, and what other services change."""
from __future__ import annotations

from collections.abc import Callable

from identity.adapters import Deps
from identity.adapters.projections import SANCTION_EVENTS, timeline_entry
from identity.domain import rules, stamping
from identity.domain.accounts import ACCOUNT_STREAM, PnsAccount, StampingNotes
from identity.domain.events import StampingNoted
from identity.domain.record import ROSTER_STREAM
from pupns.contracts.documents import StampFailed, StampRequested, StatementStamped
from pupns.contracts.verification import RegistrationConfirmed, RegistrationRejected
from pupns.errors import AppError
from pupns.personal import open_fields


def get_me(deps: Deps, nip: str) -> dict:
    """The spec's `GET /me` body; the timeline merges the account stream with sanctions on the roster stream."""
    doc = deps.read.account(nip)
    if not doc:
        raise AppError("not_found")
    return {"nip": nip, "nama": doc["nama"], "instansi_kode": doc["instansi_kode"],
            "status": public_status(deps, nip, doc), "registration_number": doc["registration_number"],
            "timeline": timeline(deps, nip)}


def public_status(deps: Deps, nip: str, doc: dict) -> str:
    """The status a PNS sees for their account read-model document."""
    return rules.Account(nip, doc["status"], doc.get("form_status"), deps.read.not_reregistered(nip)).public_status


def timeline(deps: Deps, nip: str) -> list[dict]:
    """The `GET /me` timeline: the account stream, sanctions on the roster stream and e-Meterai notes."""
    read = deps.store.read_stream
    events = read(ACCOUNT_STREAM.format(nip=nip))
    events += [e for e in read(ROSTER_STREAM.format(nip=nip)) if e["type"] in SANCTION_EVENTS]
    events += read(stamping.STAMPING_STREAM.format(nip=nip))  # e-Meterai state; status unchanged
    events.sort(key=stamping.timeline_order(events))
    return [stamping.stamping_timeline_entry(e) if e["type"] == "StampingNoted" else timeline_entry(e)
            for e in events]


def get_registration(deps: Deps, registration_number: str) -> dict:
    """What a registration receipt shows (the PNS's own; the e-mail opened, null once erased)."""
    doc = deps.read.account_by_number(registration_number)
    if not doc:
        raise AppError("not_found")
    shown = {key: doc.get(key) for key in ("registration_number", "nip", "nama", "email", "instansi_kode",
                                           "instansi_nama", "unit_kerja", "registered_at", "status")}
    return open_fields(deps.codec, doc["_id"], shown)


def _change(deps: Deps, nip: str, change: Callable[[PnsAccount], None], meta: dict, key: str) -> None:
    """Run `change(account)` and save it with the consumer's key (an account it does not apply to, e.g. an event
    about an older, superseded registration: nothing is stored)."""
    deps.accounts.run(nip, change, meta, idempotency_key=key)


def confirm(deps: Deps, event: RegistrationConfirmed, meta: dict, key: str) -> None:
    """A verifier confirmed the registration: the PNS may log in."""
    _change(deps, event.nip, lambda account: account.activate(event.registration_number), meta, key)


def reject(deps: Deps, event: RegistrationRejected, meta: dict, key: str) -> None:
    """A verifier rejected the registration: the PNS may register again."""
    _change(deps, event.nip, lambda account: account.reject(event.reason), meta, key)


def change_form_status(deps: Deps, nip: str, status: str, note: str | None, meta: dict, key: str,
                       since: str | None = None) -> None:
    """The form moved (submitted, returned, verified, reopened) at `since`: the account shows it, unless it already
    shows a later move."""
    _change(deps, nip, lambda account: account.change_form_status(status, note, since), meta, key)


def note_stamping(deps: Deps, event: StampRequested | StampFailed | StatementStamped, key: str) -> None:
    """documents' e-Meterai progress on the submission statement, kept for the PNS's timeline."""
    seen = {"type": event.TYPE, "data": event.data(), "occurred_at": event.occurred_at}

    def note(notes: StampingNotes) -> bool:
        data = stamping.stamping_note(seen, notes.noted)
        if data is not None:
            notes.note(StampingNoted(**data), nip=event.nip, instansi_kode=event.instansi_kode)
        return data is not None

    meta = {"actor": "system", "role": "system", "cause": event.event_id}
    if not deps.stamping.run(event.nip, note, meta, idempotency_key=key):
        deps.store.remember(key, None)  # seen, nothing new to show (a repeated failure, a late arrival)
