"""Roster use cases: import a CSV (idempotent per NIP) and apply verified corrections."""
from __future__ import annotations

from datetime import date

from identity import domain
from identity.application import handle_status_change
from identity.projections import ROSTER, RosterView
from identity.roster import parse_roster
from pupns.actors import Actor, actor_meta, require_role
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent, StreamAppend

BATCH = 1000
# Form fields that are roster columns too: an approved submission becomes the roster's current value.
CORRECTABLE = {
    "data_utama": ("nik", "nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir",
                   "jenis_kelamin", "agama"),
    "data_posisi": ("instansi_kode", "unit_kerja", "jenis_jabatan", "jabatan"),
}


def _append_roster(store: EventStore, view: RosterView, event: NewEvent, nip: str, version: int, meta: dict,
                   key: str | None = None) -> None:
    def project(docs: list[dict], session) -> None:
        for doc in docs:
            view.apply(doc, session)

    try:
        store.append(domain.ROSTER_STREAM.format(nip=nip), version, [event], meta, nip=nip,
                     instansi_kode=event.data["row"]["instansi_kode"], idempotency_key=key, projection=project)
    except (ConcurrencyError, AlreadyApplied):
        view.forget(nip)  # the cache may hold writes of the aborted transaction
        raise


def _append_batch(store: EventStore, view: RosterView, changed: list[tuple[int, dict, int]], meta: dict) -> None:
    """One transaction for the whole batch (one commit instead of one per row)."""
    parts = [StreamAppend(domain.ROSTER_STREAM.format(nip=row["nip"]), version,
                          [NewEvent("RosterEntryImported", {"row": row})], row["nip"], row["instansi_kode"])
             for _, row, version in changed]

    def project(docs: list[dict], session) -> None:
        for doc in docs:
            view.apply(doc, session)

    try:
        store.append_many(parts, meta, projection=project)
    except ConcurrencyError:
        for _, row, _ in changed:
            view.forget(row["nip"])  # the cache may hold writes of the aborted transaction
        raise


def _append_rows(store: EventStore, view: RosterView, changed: list[tuple[int, dict, int]],
                 meta: dict) -> tuple[int, list[dict]]:
    imported, rejected = 0, []
    view.prefetch((row["nip"] for _, row, _ in changed), (row["nik"] for _, row, _ in changed))
    for line, row, _ in changed:
        known = view.known(row["nip"]) or {}
        if known.get("imported") == row:
            continue
        event = NewEvent("RosterEntryImported", {"row": row})
        try:
            _append_roster(store, view, event, row["nip"], known.get("version", 0), meta)
            imported += 1
        except ConcurrencyError:
            rejected.append({"line": line, "column": "nip",
                             "reason": "data NIP ini sedang diubah bersamaan; impor ulang baris ini"})
    return imported, rejected


def import_roster(store: EventStore, csv_text: str, actor: Actor, today: date | None = None) -> dict:
    """Load valid rows, report the rest as {line, column, reason}; an unchanged row appends nothing."""
    require_role(actor, "admin")
    parsed = parse_roster(csv_text or "", today)
    meta = actor_meta(actor)
    imported = unchanged = 0
    rejected = [r.as_dict() for r in parsed.rejected]
    view = RosterView(store.db)
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
            _append_batch(store, view, changed, meta)
            imported += len(changed)
        except ConcurrencyError:
            # Someone else wrote one of these NIPs meanwhile: fall back to row by row for this batch.
            ok, failed = _append_rows(store, view, changed, meta)
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


def handle_submission_approved(store: EventStore, message: dict, key: str) -> None:
    """Roster takes the verified values, then the account shows `verified`."""
    nip = message["nip"]
    entry = store.db[ROSTER].find_one({"_id": nip})
    if entry:
        row = corrected_row(entry["row"], message["data"].get("sections") or {})
        if row != entry["row"]:
            view = RosterView(store.db)
            view.prefetch([nip], [row["nik"]])
            event = NewEvent("RosterEntryCorrected", {"row": row, "from_submission": message["event_id"]})
            meta = {"actor": message.get("meta", {}).get("actor"), "role": message.get("meta", {}).get("role"),
                    "cause": message["event_id"]}
            try:
                _append_roster(store, view, event, nip, entry.get("version") or store.stream_version(
                    domain.ROSTER_STREAM.format(nip=nip)), meta, key=f"{key}:roster")
            except AlreadyApplied:
                pass  # redelivery after the roster half was stored
    handle_status_change(store, message, key, "verified")
