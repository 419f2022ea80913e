"""Roster use cases: import a CSV (idempotent per NIP) and apply verified corrections.

A row's personal columns (the NIK, and any column of PERSONAL_FIELDS a roster may carry) are sealed here, before
the event is made; what needs the clear row (NIK blind index, the row's digest, its anomaly flags) is worked out
first and stored beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from identity.adapters import Deps
from identity.adapters.roster_view import RosterView, row_fingerprint
from identity.commands.accounts import change_form_status
from identity.domain.events import RosterEntryImported
from identity.domain.record import ROSTER_STREAM, PnsRecord
from identity.domain.roster import parse_roster, row_anomalies
from pupns.actors import Actor, actor_meta, require_role
from pupns.blind_index import blind_index
from pupns.contracts.verification import SubmissionApproved
from pupns.eventstore import AlreadyApplied, ConcurrencyError, StreamAppend
from pupns.personal import ERASED_MARKER, FieldCodec, open_fields, seal_fields
from pupns.repository import new_event

BATCH = 1000
# Form fields that are roster columns too: an approved submission becomes the roster's current value.
CORRECTABLE = {
    "data_utama": ("nik", "nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir",
                   "jenis_kelamin", "agama"),
    "data_posisi": ("instansi_kode", "unit_kerja", "jenis_jabatan", "jabatan"),
}


@dataclass(frozen=True)
class ClearRow:
    """A valid roster row in clear, with what is worked out on it before sealing."""

    line: int
    row: dict
    nik_bi: str
    fingerprint: str

    @classmethod
    def of(cls, line: int, row: dict) -> ClearRow:
        return cls(line, row, blind_index("nik", row["nik"]), row_fingerprint(row))


def anomaly_codes(row: dict) -> list[str]:
    """The row's own anomaly codes (the NIK-vs-NIP rule needs the clear NIK); none for an erased NIK."""
    return [a["code"] for a in row_anomalies(row)] if isinstance(row.get("nik"), str) else []


def roster_part(codec: FieldCodec, entry: ClearRow, version: int) -> StreamAppend:
    """One imported row, sealed, as its roster stream's share of a batch append (after the version the view knows)."""
    row = entry.row
    event = RosterEntryImported(seal_fields(codec, row["nip"], row), entry.nik_bi, entry.fingerprint,
                                anomaly_codes(row))
    return StreamAppend(ROSTER_STREAM.format(nip=row["nip"]), version, [new_event(event)], row["nip"],
                        row["instansi_kode"])


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


def _append_rows(deps: Deps, view: RosterView, changed: list[tuple[ClearRow, int]],
                 meta: dict) -> tuple[int, list[dict]]:
    imported, rejected = 0, []
    view.prefetch((e.row["nip"] for e, _ in changed), (e.nik_bi for e, _ in changed))
    for entry, _ in changed:
        known = view.known(entry.row["nip"]) or {}
        if known.get("fingerprint") == entry.fingerprint:
            continue
        try:
            _append(deps, view, [roster_part(deps.codec, entry, known.get("version", 0))], meta)
            imported += 1
        except ConcurrencyError:
            rejected.append({"line": entry.line, "column": "nip",
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
        batch = [ClearRow.of(line, row) for line, row in parsed.rows[start:start + BATCH]]
        view.prefetch((e.row["nip"] for e in batch), (e.nik_bi for e in batch))
        changed = []
        for entry in batch:
            known = view.known(entry.row["nip"])
            if known and known.get("fingerprint") == entry.fingerprint:
                unchanged += 1
            else:
                changed.append((entry, (known or {}).get("version", 0)))
        if not changed:
            continue
        deps.codec.warm(entry.row["nip"] for entry, _ in changed)
        try:
            _append(deps, view, [roster_part(deps.codec, entry, version) for entry, version in changed], meta)
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
    """Roster takes the verified values, then the account shows `verified`. Rows and sections are compared in
    clear (opened here; erased values read as None and are not copied), and the new row is sealed again."""
    codec, nip = deps.codec, event.nip
    sections = open_fields(codec, nip, event.sections or {})

    def correct(record: PnsRecord) -> None:
        if record.row is None:
            return
        current = open_fields(codec, nip, record.row)
        current.pop(ERASED_MARKER, None)
        row = corrected_row(current, sections)
        if row != current:
            nik = row.get("nik")
            record.correct(seal_fields(codec, nip, row), event.event_id,
                           blind_index("nik", nik) if isinstance(nik, str) else record.nik_bi, anomaly_codes(row))

    try:
        deps.records.run(event.nip, correct, meta, idempotency_key=f"{key}:roster")
    except AlreadyApplied:
        pass  # redelivery after the roster half was stored
    change_form_status(deps, event.nip, "verified", None, meta, key, since=event.occurred_at)
