"""Use cases of PNS accounts: register, read status, react to verification and forms events."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from identity import domain
from identity.projections import ACCOUNTS, CAMPAIGN, ROSTER, SANCTION_EVENTS, Projector, apply_account, timeline_entry
from identity.schemas import load_registration
from pupns.auth import sign_receipt
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore, NewEvent, canonical_json
from pupns.passwords import POOL, hash_password

REGISTRATION_ATTEMPTS = 5


def projector(store: EventStore) -> Projector:
    """The live projector (indexes are created once at service start)."""
    return Projector(store.db, ensure_indexes=False)


def now() -> datetime:
    return datetime.now(UTC)


def campaign_open(store: EventStore, at: datetime | None = None) -> bool:
    return domain.campaign_is_open(store.db[CAMPAIGN].find_one({"_id": "current"}), at or now())


def account_of(store: EventStore, nip: str) -> domain.Account | None:
    doc = store.db[ACCOUNTS].find_one({"_id": nip}, {"status": 1, "form_status": 1})
    return domain.Account(nip, doc["status"], doc.get("form_status")) if doc else None


def receipt_path(registration_number: str) -> str:
    return f"/api/v1/receipts/{registration_number}.pdf?sig={sign_receipt(registration_number)}"


def _fingerprint(data: dict) -> str:
    """What makes a repeat 'the same request' (the password is left out: it is never stored in clear)."""
    return hashlib.sha256(canonical_json({k: data[k] for k in ("nip", "nik", "email")}).encode()).hexdigest()


def _replay(seen: dict | None, fingerprint: str) -> dict | None:
    if not seen:
        return None
    result = seen.get("result") or {}
    if result.get("fingerprint") != fingerprint:
        raise AppError("idempotency_conflict", "Kunci idempotensi sudah dipakai untuk permintaan lain.")
    return result["response"]


def instansi_hint(store: EventStore, nik: str) -> str | None:
    """Which instansi an unknown-NIP attempt is counted under: the instansi of a roster PNS with the same NIK,
    else the instansi whose code is the NIK's region (PPKK, as regional governments are coded), else none."""
    same_nik = store.db[ROSTER].find_one({"nik": nik}, {"instansi_kode": 1})
    if same_nik:
        return same_nik["instansi_kode"]
    region = store.db[ROSTER].find_one({"instansi_kode": nik[:4]}, {"instansi_kode": 1})
    return region["instansi_kode"] if region else None


def record_unknown_nip(store: EventStore, nip: str, nik: str) -> None:
    """A registration attempt for a NIP outside the roster is kept as a 'PNS selundupan' candidate."""
    stream = domain.SELUNDUPAN_STREAM.format(nip=nip)
    data = {"nip": nip, "at": now().isoformat(), "instansi_hint": instansi_hint(store, nik)}
    for _ in range(REGISTRATION_ATTEMPTS):
        try:
            store.append(stream, store.stream_version(stream), [NewEvent("UnknownNipAttempted", data)],
                         {"actor": nip, "role": "anonymous"}, nip=nip, instansi_kode=None,
                         projection=projector(store).apply)
            return
        except ConcurrencyError:
            continue


def record_nik_mismatch(store: EventStore, nip: str, entry: dict) -> None:
    """A wrong NIK for a roster NIP is kept on its roster stream (NikMismatched): it counts toward closing the NIP
    to registration, and the attempt stays in the record's audit history."""
    stream, version = domain.ROSTER_STREAM.format(nip=nip), entry.get("version") or 0
    for _ in range(REGISTRATION_ATTEMPTS):
        try:
            store.append(stream, version, [NewEvent("NikMismatched", {"at": now().isoformat()})],
                         {"actor": nip, "role": "anonymous"}, nip=nip, instansi_kode=entry.get("instansi_kode"),
                         projection=projector(store).apply)
            return
        except ConcurrencyError:
            version = store.stream_version(stream)


def register(store: EventStore, payload: dict, idempotency_key: str | None = None) -> dict:
    """Register a PNS of the roster; the account waits for a verifier's confirmation."""
    data = load_registration(payload)
    key = f"register:{idempotency_key}" if idempotency_key else None
    fingerprint = _fingerprint(data)
    replayed = _replay(store.recall(key), fingerprint) if key else None
    if replayed:
        return replayed
    if not campaign_open(store):
        raise AppError("campaign_closed")
    nip = data["nip"]
    entry = store.db[ROSTER].find_one({"_id": nip})
    if not entry:
        record_unknown_nip(store, nip, data["nik"])
        raise AppError("nip_not_in_roster")
    row = entry["row"]
    wait = domain.nik_guess_wait(entry.get("nik_mismatches") or [], now())
    if wait:
        raise AppError("too_many_attempts", extra={"retry_after": wait})
    if row["nik"] != data["nik"]:
        record_nik_mismatch(store, nip, entry)
        raise AppError("nik_mismatch", fields={"nik": ["NIK tidak sesuai dengan data induk"]})
    password_hash = POOL.run(hash_password, data["password"])
    stream = domain.ACCOUNT_STREAM.format(nip=nip)
    for _ in range(REGISTRATION_ATTEMPTS):
        account = account_of(store, nip)
        if account and account.blocks_registration:
            raise AppError("already_registered")
        at = now()
        number = domain.new_registration_number(at.year)
        event = NewEvent("RegistrationSubmitted", {
            "registration_number": number, "nip": nip, "email": data["email"], "nama": row["nama"],
            "instansi_kode": row["instansi_kode"], "instansi_nama": row["instansi_nama"],
            "unit_kerja": row["unit_kerja"], "password_hash": password_hash, "roster": row,
            "registered_at": at.isoformat()})
        response = {"registration_number": number, "nip": nip, "nama": row["nama"],
                    "instansi_nama": row["instansi_nama"], "status": "pending_confirmation",
                    "receipt_path": receipt_path(number)}
        try:
            store.append(stream, store.stream_version(stream), [event], {"actor": nip, "role": "pns"},
                         nip=nip, instansi_kode=row["instansi_kode"], idempotency_key=key,
                         idempotency_result={"fingerprint": fingerprint, "response": response} if key else None,
                         projection=projector(store).apply)
            return response
        except AlreadyApplied as exc:
            return _replay({"result": exc.result}, fingerprint)
        except ConcurrencyError:
            continue  # a concurrent registration, or a registration number collision: look again
    raise AppError("unavailable")


def get_me(store: EventStore, nip: str) -> dict:
    """The spec's `GET /me` body; the timeline merges the account stream with sanctions on the roster stream."""
    doc = store.db[ACCOUNTS].find_one({"_id": nip})
    if not doc:
        raise AppError("not_found")
    roster = store.db[ROSTER].find_one({"_id": nip}, {"not_reregistered": 1}) or {}
    account = domain.Account(nip, doc["status"], doc.get("form_status"), bool(roster.get("not_reregistered")))
    events = store.read_stream(domain.ACCOUNT_STREAM.format(nip=nip))
    events += [e for e in store.read_stream(domain.ROSTER_STREAM.format(nip=nip)) if e["type"] in SANCTION_EVENTS]
    events += store.read_stream(domain.STAMPING_STREAM.format(nip=nip))  # e-Meterai state; status unchanged
    events.sort(key=domain.timeline_order(events))
    return {"nip": nip, "nama": doc["nama"], "instansi_kode": doc["instansi_kode"],
            "status": account.public_status, "registration_number": doc["registration_number"],
            "timeline": [domain.stamping_timeline_entry(e) if e["type"] == "StampingNoted" else timeline_entry(e)
                         for e in events]}


def get_registration(store: EventStore, registration_number: str) -> dict:
    """What a registration receipt shows."""
    doc = store.db[ACCOUNTS].find_one({"registration_number": registration_number})
    if not doc:
        raise AppError("not_found")
    return {key: doc.get(key) for key in ("registration_number", "nip", "nama", "email", "instansi_kode",
                                          "instansi_nama", "unit_kerja", "registered_at", "status")}


def _account_append(store: EventStore, message: dict, event: NewEvent, key: str,
                    allowed: tuple[str, ...]) -> None:
    nip = message["nip"]
    account = account_of(store, nip)
    if not account or account.status not in allowed:
        return  # nothing to change (e.g. an event about an older, superseded registration)
    stream = domain.ACCOUNT_STREAM.format(nip=nip)
    doc = store.db[ACCOUNTS].find_one({"_id": nip}, {"instansi_kode": 1})
    meta = {"actor": message.get("meta", {}).get("actor"), "role": message.get("meta", {}).get("role"),
            "cause": message["event_id"]}
    store.append(stream, store.stream_version(stream), [event], meta, nip=nip,
                 instansi_kode=doc.get("instansi_kode"), idempotency_key=key,
                 projection=lambda docs, session: [apply_account(store.db, d, session) for d in docs])


def handle_registration_confirmed(store: EventStore, message: dict, key: str) -> None:
    number = message["data"].get("registration_number")
    _account_append(store, message, NewEvent("AccountActivated", {"registration_number": number}), key,
                    ("pending_confirmation",))


def handle_registration_rejected(store: EventStore, message: dict, key: str) -> None:
    _account_append(store, message, NewEvent("AccountRejected", {"reason": message["data"].get("reason")}), key,
                    ("pending_confirmation",))


def handle_status_change(store: EventStore, message: dict, key: str, status: str, note: str | None = None) -> None:
    _account_append(store, message, NewEvent("AccountStatusChanged", {"status": status, "note": note}), key,
                    ("active",))


def note_stamping(store: EventStore, message: dict, key: str) -> None:
    """documents' e-Meterai progress on the submission statement, kept for the PNS's timeline."""
    nip = message["nip"]
    stream = domain.STAMPING_STREAM.format(nip=nip)
    data = domain.stamping_note(message, store.read_stream(stream))
    if data is None:
        store.remember(key, None)  # seen, nothing new to show (a repeated failure, a late arrival)
        return
    meta = {"actor": "system", "role": "system", "cause": message["event_id"]}
    store.append(stream, store.stream_version(stream), [NewEvent("StampingNoted", data)], meta, nip=nip,
                 instansi_kode=message.get("instansi_kode"), idempotency_key=key)
