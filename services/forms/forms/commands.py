"""forms' use cases: the PNS's saves and submission, an administrator's reopen, and reactions to upstream events."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from forms.adapters import Deps, nik_index
from forms.adapters.projections import lookup_key
from forms.domain import CAMPAIGN_ID, Form
from forms.domain.anomalies import compute_anomalies, for_pns, nik_mismatch
from forms.domain.prefill import sections_from_roster
from forms.schemas import load_reason
from forms.schemas.fields import today
from forms.schemas.sections import completeness, validate_section
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.campaign import campaign_is_open
from pupns.errors import AppError, validation_error
from pupns.eventstore import AlreadyApplied, ConcurrencyError, utcnow_iso
from pupns.personal import ERASED_MARKER, clear_value, opened, seal_fields
from pupns.repository import rerun_on_collision
from pupns.sections import SECTION_KEYS

# Runs of a keyed request whose append collides, and its pauses (random, doubling from 0.2 s up to 1.6 s: at most
# 3 s in all).
COLLISION_ATTEMPTS, COLLISION_FIRST_PAUSE, COLLISION_MAX_PAUSE = 5, 0.2, 1.6
PROFILE_FIELDS = ("nip", "nama", "instansi_kode", "status", "submitted_at", "version", "roster", "anomalies")


def campaign_open(deps: Deps) -> bool:
    return campaign_is_open(deps.read.recent_campaign_window(), datetime.now(UTC))


def as_app_error(exc: DomainError) -> AppError:
    return AppError(exc.code, fields=exc.fields, extra=exc.extra)


def pns_meta(nip: str) -> dict[str, Any]:
    return {"actor": nip, "role": "pns"}


def version_conflict(deps: Deps, nip: str) -> AppError:
    return AppError("version_conflict", extra={"version": deps.forms.current_version(nip)})


# -- commands from the PNS ------------------------------------------------------
def request_key(nip: str, command: str, idempotency_key: str | None) -> str | None:
    """The store's key of a PNS's request sent with an Idempotency-Key (the client's key is per PNS)."""
    return f"{command}:{nip}:{idempotency_key}" if idempotency_key else None


def answered_before(deps: Deps, key: str | None) -> dict | None:
    """The first answer to a request repeated with its idempotency key (e.g. a retry after a timeout whose first
    try went through), or None."""
    return deps.forms.first_answer(key) if key else None


def refused_unless_answered(deps: Deps, key: str | None, refusal: AppError) -> dict:
    """The first answer if the request's first try (same idempotency key) has meanwhile been done, else `refusal`.

    A client whose first try outlived its deadline retries while that try may still run: the retry can then find the
    form moved by it (version_conflict, form_locked) after its own look for the key found nothing."""
    replayed = answered_before(deps, key)
    if replayed:
        return replayed
    raise refusal


def settling_collisions(deps: Deps, nip: str, key: str | None, once: Callable[[], dict]) -> dict:
    """Run `once`; a keyed request whose append collided with another transaction (most often its own first try,
    still open when the client retried) runs again after a short random pause: the re-run finds the first try's
    answer if that committed, or does the work if it was aborted. Unkeyed, a collision is version_conflict at once."""
    try:
        return rerun_on_collision(once, COLLISION_ATTEMPTS if key else 1, COLLISION_FIRST_PAUSE, COLLISION_MAX_PAUSE)
    except ConcurrencyError as exc:
        raise version_conflict(deps, nip) from exc


def save_section(deps: Deps, nip: str, key: str, value: Any, expected_version: Any,
                 idempotency_key: str | None = None) -> dict:
    """Replace one section if `expected_version` is the form's version; {version} after the save."""
    stored_key = request_key(nip, f"save:{key}", idempotency_key)
    return settling_collisions(deps, nip, stored_key,
                               lambda: _save_section_once(deps, nip, key, value, expected_version, stored_key))


def _save_section_once(deps: Deps, nip: str, key: str, value: Any, expected_version: Any,
                       stored_key: str | None) -> dict:
    replayed = answered_before(deps, stored_key)
    if replayed:
        return replayed
    if key not in SECTION_KEYS:
        raise AppError("unknown_section")
    form = deps.forms.get(nip)
    if not form.opened:
        raise AppError("not_found")
    if not isinstance(expected_version, int) or isinstance(expected_version, bool) \
            or expected_version != form.version:
        return refused_unless_answered(deps, stored_key, AppError("version_conflict", extra={"version": form.version}))
    is_open = campaign_open(deps)
    try:
        form.check_editable(key, is_open)
        clean, errors = validate_section(key, value, form.birth_date())
        if errors:
            raise validation_error(errors)
        facts = nik_facts(deps, form, clean) if key == "data_utama" else {}
        form.save_section(key, seal_fields(deps.codec, nip, clean), is_open, **facts)
        deps.forms.save(form, pns_meta(nip), idempotency_key=stored_key,
                        idempotency_result={"version": form.version + len(form.pending)} if stored_key else None)
    except AlreadyApplied as exc:
        return exc.result
    except DomainError as exc:
        return refused_unless_answered(deps, stored_key, as_app_error(exc))
    return {"version": form.version}


def nik_facts(deps: Deps, form: Form, utama: dict) -> dict[str, Any]:
    """What the NIK rules need, found on the clear `data_utama` before it is sealed: the blind index of the NIK
    the form states after the save (the roster's when none is typed) and whether it disagrees with the NIP."""
    nik = utama.get("nik") or clear_value(deps.codec, form.id, form.roster.get("nik"))
    return {"nik_bi": nik_index.nik_key(nik), "nik_mismatch": nik_mismatch(form.id, utama.get("nik"), today())}


def nik_shared(deps: Deps, nip: str, key: str | None) -> bool:
    """Another NIP's form states the same NIK, and that PNS's data was not erased.

    An erased PNS keeps its place in `nik_holders` (blind indexes survive erasure: the log is not rewritten and
    a replay must rebuild the same lookup), but its NIK is no longer anyone's to hold: a holder whose NIK token
    names an erased data key does not count. Told from the key store alone, nothing is decrypted."""
    others = deps.read.nik_holders(key) - {nip}
    return any(not deps.codec.sealed_with_erased_key(other, deps.read.stated_nik(other)) for other in others)


def submit_form(deps: Deps, nip: str, idempotency_key: str | None = None) -> dict:
    """Lock the form and hand it to verification (FormSubmitted), with its anomalies."""
    stored_key = request_key(nip, "submit", idempotency_key)
    return settling_collisions(deps, nip, stored_key, lambda: _submit_form_once(deps, nip, stored_key))


def _submit_form_once(deps: Deps, nip: str, stored_key: str | None) -> dict:
    replayed = answered_before(deps, stored_key)
    if replayed:
        return replayed
    form = deps.forms.get(nip)
    # The rules read the clear values (sealed in the log); nothing opened here is stored or answered.
    sections, _ = opened(deps.codec, nip, form.sections)
    roster, _ = opened(deps.codec, nip, form.roster)
    problems = completeness(sections, form.applicable_sections(), form.birth_date())
    anomalies = compute_anomalies(nip, sections, roster, today(), nik_shared(deps, nip, lookup_key(form)))
    submitted_at = utcnow_iso()
    try:
        form.submit(campaign_open(deps), submitted_at, problems, anomalies)
        answer = {"status": "submitted", "submitted_at": submitted_at}
        deps.forms.save(form, pns_meta(nip), idempotency_key=stored_key, idempotency_result=answer)
    except AlreadyApplied as exc:
        return exc.result
    except DomainError as exc:
        return refused_unless_answered(deps, stored_key, as_app_error(exc))
    return answer


# -- an administrator ---------------------------------------------------------------
def reopen_record(deps: Deps, nip: str, reason: object, actor: Actor) -> dict:
    """A verified form goes back to draft: the PNS may edit and submit it again (inside the window)."""
    require_role(actor, "admin")
    text = load_reason(reason)

    def reopen(form: Form) -> Form:
        form.reopen(text)
        return form

    try:
        form = deps.forms.run(nip, reopen, actor_meta(actor), attempts=deps.settings.reopen_attempts)
    except DomainError as exc:
        raise as_app_error(exc) from exc
    except ConcurrencyError:
        raise AppError("conflict", extra={"version": deps.forms.current_version(nip)}) from None
    return {"nip": nip, "status": form.status, "version": form.version}


# -- queries --------------------------------------------------------------------
def get_form(deps: Deps, nip: str) -> dict:
    """The form as the PNS sees it (verifier-only anomalies left out)."""
    doc = deps.read.form(nip)
    if not doc:
        raise AppError("not_found")
    found = {k: doc[k] for k in ("version", "status", "applicable_sections", "notes")}
    sections, erased = opened(deps.codec, nip, doc["sections"])
    return {**found, "sections": sections, "anomalies": for_pns(doc["anomalies"]), **erased_marker(erased)}


def get_profile_data(deps: Deps, nip: str) -> dict:
    """What the Profil PNS document shows: the submitted sections and the roster's instansi and unit."""
    doc = deps.read.form(nip)
    if not doc:
        raise AppError("not_found")
    if not doc.get("submitted_sections"):
        raise AppError("not_submitted")
    roster, roster_erased = opened(deps.codec, nip, doc.get("roster") or {})
    sections, sections_erased = opened(deps.codec, nip, doc["submitted_sections"])
    return {**{k: doc.get(k) for k in PROFILE_FIELDS}, "roster": roster,
            "anomalies": for_pns(doc.get("anomalies") or []), "sections": sections,
            "instansi_nama": roster.get("instansi_nama"), "unit_kerja": roster.get("unit_kerja"),
            **erased_marker(roster_erased or sections_erased)}


def erased_marker(erased: bool) -> dict[str, bool]:
    """SPEC §7: an answer whose erased values read as null says so."""
    return {ERASED_MARKER: True} if erased else {}


# -- reactions to other services' events ------------------------------------------
def consumer_meta(message: dict) -> dict[str, Any]:
    """Who caused it (the upstream actor) and which event: the audit trail's why."""
    meta = message.get("meta") or {}
    return {"actor": meta.get("actor", "system"), "role": meta.get("role", "system"),
            "correlation_id": message["event_id"]}


def open_form(deps: Deps, nip: str, instansi_kode: str | None, roster: dict, email: str | None, meta: dict,
              key: str) -> None:
    """Open the form prefilled from the roster row (once: a repeated confirmation changes nothing).

    The row and e-mail arrive sealed (or in clear from a producer that does not seal yet): the copies are sealed
    before the append either way, and the NIK rules run on the clear NIK here."""
    form = deps.forms.get(nip)
    if form.opened:
        return
    nik = clear_value(deps.codec, nip, roster.get("nik"))
    sections = seal_fields(deps.codec, nip, sections_from_roster(roster, email))
    if form.open(instansi_kode, roster.get("jabatan"), seal_fields(deps.codec, nip, roster), sections,
                 nik_index.nik_key(nik), nik_mismatch(nip, nik, today())):
        deps.forms.save(form, meta, idempotency_key=key)


def return_form(deps: Deps, nip: str, notes: dict[str, str], meta: dict, key: str) -> None:
    """The verifier returned the submission: editable again, with the notes."""
    form = deps.forms.get(nip)
    if form.mark_returned(notes):
        deps.forms.save(form, meta, idempotency_key=key)


def verify_form(deps: Deps, nip: str, meta: dict, key: str) -> None:
    """The verifier approved the submission."""
    form = deps.forms.get(nip)
    if form.mark_verified():
        deps.forms.save(form, meta, idempotency_key=key)


def observe_campaign(deps: Deps, opens_at: str, closes_at: str, source_version: int, meta: dict, key: str) -> None:
    """Keep the latest schedule; an older one delivered late is ignored."""
    deps.campaign.run(CAMPAIGN_ID, lambda campaign: campaign.observe(opens_at, closes_at, source_version), meta,
                      idempotency_key=key)
