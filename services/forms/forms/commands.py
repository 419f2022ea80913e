"""Use cases of the forms service: load the Form, run one command, append its events."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forms import nik_index
from forms.anomalies import compute_anomalies, for_pns
from forms.domain import Form, campaign_is_open, stream_name
from forms.fields import today
from forms.prefill import sections_from_roster
from forms.projections import CAMPAIGN_ID, Projector
from forms.sections import completeness, validate_section
from pupns.aggregate import DomainError
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError, EventStore, NewEvent, utcnow_iso
from pupns.sections import SECTION_KEYS

PROFILE_FIELDS = ("nip", "nama", "instansi_kode", "status", "submitted_at", "version", "roster", "anomalies")


def load(store: EventStore, nip: str) -> Form:
    return Form.load(nip, store.read_stream(stream_name(nip)))  # type: ignore[return-value]


def save(store: EventStore, form: Form, meta: dict, idempotency_key: str | None = None) -> int:
    """Append the form's pending events after the version it was loaded at; returns the new version."""
    if not form.pending:
        return form.version
    events = [NewEvent(e.type_name(), e.to_data()) for e in form.pending]
    docs = store.append(stream_name(form.id), form.version, events, meta, nip=form.id,
                        instansi_kode=form.instansi_kode, idempotency_key=idempotency_key,
                        projection=Projector(store.db).apply)
    form.version, form.pending = docs[-1]["version"], []
    return form.version


def campaign_open(store: EventStore) -> bool:
    return campaign_is_open(store.db["campaign"].find_one({"_id": CAMPAIGN_ID}), datetime.now(UTC))


def as_app_error(exc: DomainError) -> AppError:
    return AppError(exc.code, fields=exc.fields, extra=exc.extra)


def pns_meta(nip: str) -> dict[str, Any]:
    return {"actor": nip, "role": "pns"}


# -- commands from the PNS ------------------------------------------------------
def save_section(store: EventStore, nip: str, key: str, value: Any, expected_version: Any) -> dict:
    if key not in SECTION_KEYS:
        raise AppError("unknown_section")
    form = load(store, nip)
    if not form.opened:
        raise AppError("not_found")
    if not isinstance(expected_version, int) or isinstance(expected_version, bool) \
            or expected_version != form.version:
        raise AppError("version_conflict", extra={"version": form.version})
    is_open = campaign_open(store)
    try:
        form.check_editable(key, is_open)
        clean, errors = validate_section(key, value, form.birth_date())
        if errors:
            raise validation_error(errors)
        form.save_section(key, clean, is_open)
        return {"version": save(store, form, pns_meta(nip))}
    except DomainError as exc:
        raise as_app_error(exc) from exc
    except ConcurrencyError as exc:
        raise AppError("version_conflict", extra={"version": store.stream_version(stream_name(nip))}) from exc


def submit_form(store: EventStore, nip: str) -> dict:
    form = load(store, nip)
    applicable = form.applicable_sections()
    problems = completeness(form.sections, applicable, form.birth_date())
    anomalies = compute_anomalies(nip, form.sections, form.roster, today(),
                                  nik_index.shared(store.db, form.current_nik(), nip))
    submitted_at = utcnow_iso()
    try:
        form.submit(campaign_open(store), submitted_at, problems, anomalies)
        save(store, form, pns_meta(nip))
    except DomainError as exc:
        raise as_app_error(exc) from exc
    except ConcurrencyError as exc:
        raise AppError("version_conflict", extra={"version": store.stream_version(stream_name(nip))}) from exc
    return {"status": "submitted", "submitted_at": submitted_at}


# -- queries --------------------------------------------------------------------
def get_form(store: EventStore, nip: str) -> dict:
    doc = store.db["forms"].find_one({"_id": nip})
    if not doc:
        raise AppError("not_found")
    found = {k: doc[k] for k in ("version", "status", "sections", "applicable_sections", "notes")}
    return {**found, "anomalies": for_pns(doc["anomalies"])}


def get_profile_data(store: EventStore, nip: str) -> dict:
    doc = store.db["forms"].find_one({"_id": nip})
    if not doc:
        raise AppError("not_found")
    if not doc.get("submitted_sections"):
        raise AppError("not_submitted")
    roster = doc.get("roster") or {}
    return {**{k: doc.get(k) for k in PROFILE_FIELDS}, "anomalies": for_pns(doc.get("anomalies") or []),
            "sections": doc["submitted_sections"],
            "instansi_nama": roster.get("instansi_nama"), "unit_kerja": roster.get("unit_kerja")}


# -- reactions to other services' events ------------------------------------------
def consumer_meta(message: dict) -> dict[str, Any]:
    """Who caused it (the upstream actor) and which event: the audit trail's why."""
    meta = message.get("meta") or {}
    return {"actor": meta.get("actor", "system"), "role": meta.get("role", "system"),
            "correlation_id": message["event_id"]}


def roster_row(data: dict) -> dict:
    roster = data.get("roster") or {}
    return roster["row"] if isinstance(roster.get("row"), dict) else roster


def open_form(store: EventStore, message: dict, key: str) -> None:
    data, nip = message["data"], message["nip"]
    row = roster_row(data)
    form = load(store, nip)
    if form.open(data.get("instansi_kode") or message.get("instansi_kode"), row.get("jabatan"), row,
                 sections_from_roster(row, data.get("email"))):
        save(store, form, consumer_meta(message), key)


def return_form(store: EventStore, message: dict, key: str) -> None:
    form = load(store, message["nip"])
    if form.mark_returned(message["data"].get("notes") or {}):
        save(store, form, consumer_meta(message), key)


def verify_form(store: EventStore, message: dict, key: str) -> None:
    form = load(store, message["nip"])
    if form.mark_verified():
        save(store, form, consumer_meta(message), key)


def observe_campaign(store: EventStore, message: dict, key: str) -> None:
    """Keep the latest schedule; an older one delivered late is ignored."""
    current = store.db["campaign"].find_one({"_id": CAMPAIGN_ID}) or {"source_version": 0}
    source_version = message.get("version") or 0
    if source_version and source_version <= current.get("source_version", 0):
        return
    data = {"opens_at": message["data"]["opens_at"], "closes_at": message["data"]["closes_at"],
            "source_version": source_version}
    store.append("campaign", store.stream_version("campaign"), [NewEvent("CampaignObserved", data)],
                 consumer_meta(message), idempotency_key=key, projection=Projector(store.db).apply)
