"""Roster use cases: import a CSV (idempotent per NIP) and apply verified corrections."""
from __future__ import annotations

from datetime import date

from identity.adapters import Deps
from identity.adapters.roster_view import RosterView
from identity.commands.accounts import change_form_status
from identity.domain.events import RosterEntryImported, stored
from identity.domain.record import ROSTER_STREAM, PnsRecord
from identity.domain.roster import parse_roster
from pupns.actors import Actor, actor_meta, require_role
from pupns.contracts.verification import SubmissionApproved
from pupns.eventstore import AlreadyApplied, ConcurrencyError, StreamAppend

BATCH = 1000
# Form fields that are roster columns too: an approved submission becomes the roster's current value.
CORRECTABLE = {
    "data_utama": ("nik", "nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir",
                   "jenis_kelamin", "agama"),
    "data_posisi": ("instansi_kode", "unit_kerja", "jenis_jabatan", "jabatan"),
}


def roster_part(row: dict, version: int) -> StreamAppend:
    """One imported row as its roster stream's share of a batch append (after the version the view knows)."""
    return StreamAppend(ROSTER_STREAM.format(nip=row["nip"]), version, [stored(RosterEntryImported(row))],
                        row["nip"], row["instansi_kode"])


def _append(deps: Deps, view: RosterView, parts: list[StreamAppend], meta: dict) -> None:
    """One transaction for the parts, projected through the view (whose cache is dropped if it aborts)."""
    def project(docs: list[dict], session) -> None:
        for doc in docs:
            view.apply(doc, session)

    try:
        deps.store.append_many(parts, meta, projection=project)
    except ConcurrencyError:
        for part in parts:
            view.forget(part.nip or "")  # the cache may hold writes of the aborted transaction
        raise


def _append_rows(deps: Deps, view: RosterView, changed: list[tuple[int, dict, int]],
                 meta: dict) -> tuple[int, list[dict]]:
    imported, rejected = 0, []
    view.prefetch((row["nip"] for _, row, _ in changed), (row["nik"] for _, row, _ in changed))
    for line, row, _ in changed:
        known = view.known(row["nip"]) or {}
        if known.get("imported") == row:
            continue
        try:
            _append(deps, view, [roster_part(row, known.get("version", 0))], meta)
            imported += 1
        except ConcurrencyError:
            rejected.append({"line": line, "column": "nip",
                             "reason": "data NIP ini sedang diubah bersamaan; impor ulang baris ini"})
    return imported, rejected


def import_roster(deps: Deps, csv_text: str, actor: Actor, today: date | None = None) -> dict:
    """Load valid rows, report the rest as {line, column, reason}; an unchanged row appends nothing."""
    require_role(actor, "admin")
    parsed = parse_roster(csv_text or "", today)
    meta = actor_meta(actor)
    imported = unchanged = 0
    rejected = [r.as_dict() for r in parsed.rejected]
    view = deps.roster_view()
    if len(parsed.rows) > BATCH:
        view.prefetch_all()
    for start in range(0, len(parsed.rows), BATCH):
        batch = parsed.rows[start:start + BATCH]
        view.prefetch((row["nip"] for _, row in batch), (row["nik"] for _, row in batch))
        changed = []
        for line, row in batch:
            known = view.known(row["nip"])
            if known and known.get("imported") == row:
                unchanged += 1
            else:
                changed.append((line, row, (known or {}).get("version", 0)))
        if not changed:
            continue
        try:
            _append(deps, view, [roster_part(row, version) for _, row, version in changed], meta)
            imported += len(changed)
        except ConcurrencyError:
            # Someone else wrote one of these NIPs meanwhile: fall back to row by row for this batch.
            ok, failed = _append_rows(deps, view, changed, meta)
            imported += ok
            rejected += failed
    rejected.sort(key=lambda r: r["line"])
    return {"imported": imported, "unchanged": unchanged, "rejected": rejected}


def corrected_row(current: dict, sections: dict) -> dict:
    """The roster row with the verified values of the correctable form fields."""
    row = dict(current)
    for section, keys in CORRECTABLE.items():
        values = sections.get(section) or {}
        for key in keys:
            if values.get(key) not in (None, ""):
                row[key] = values[key]
    return row


def apply_approved_submission(deps: Deps, event: SubmissionApproved, meta: dict, key: str) -> None:
    """Roster takes the verified values, then the account shows `verified`."""
    def correct(record: PnsRecord) -> None:
        if record.row is not None:
            record.correct(corrected_row(record.row, event.sections), event.event_id)

    try:
        deps.records.run(event.nip, correct, meta, idempotency_key=f"{key}:roster")
    except AlreadyApplied:
        pass  # redelivery after the roster half was stored
    change_form_status(deps, event.nip, "verified", None, meta, key)
