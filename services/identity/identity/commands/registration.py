"""Registration of a roster PNS: the account waits for a verifier's confirmation; NIK guessing is counted.

The NIK is checked against the roster by its blind index (`nik_bi`); the e-mail, the password hash and the roster
copy's personal columns are sealed with the PNS's data key before RegistrationSubmitted is made.
"""
from __future__ import annotations

from datetime import UTC, datetime

from identity.adapters import Deps
from identity.adapters.personal import keyed_digest
from identity.domain import rules
from identity.domain.accounts import PnsAccount
from identity.domain.events import RegistrationSubmitted, UnknownNipAttempted
from identity.schemas import load_registration
from pupns.aggregate import DomainError
from pupns.auth import sign_receipt
from pupns.blind_index import blind_index
from pupns.campaign import campaign_is_open
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, canonical_json
from pupns.passwords import POOL, hash_password
from pupns.personal import FieldCodec, seal_fields

REGISTRATION_ATTEMPTS = 5


def now() -> datetime:
    return datetime.now(UTC)


def receipt_path(registration_number: str) -> str:
    return f"/api/v1/receipts/{registration_number}.pdf?sig={sign_receipt(registration_number)}"


def _fingerprint(data: dict) -> str:
    """What makes a repeat 'the same request' (the password is left out: it is never stored in clear). Keyed: the
    digest is stored with the idempotency record, and a plain hash of a NIK and an e-mail could be guessed back."""
    return keyed_digest("registration", canonical_json({k: data[k] for k in ("nip", "nik", "email")}))


def _replay(seen: dict | None, fingerprint: str) -> dict | None:
    if not seen:
        return None
    result = seen.get("result") or {}
    if result.get("fingerprint") != fingerprint:
        raise AppError("idempotency_conflict", "Kunci idempotensi sudah dipakai untuk permintaan lain.")
    return result["response"]


def _landed(deps: Deps, key: str | None, fingerprint: str) -> dict | None:
    """The answer this request got when it was applied already (a client's retry of a try that landed). Its key
    commits with the account's events, so once the account reads as registered the key reads too."""
    return _replay(deps.store.recall(key), fingerprint) if key else None


def record_unknown_nip(deps: Deps, nip: str, nik: str) -> None:
    """A registration attempt for a NIP outside the roster is kept as a 'PNS selundupan' candidate."""
    event = UnknownNipAttempted(nip, now().isoformat(), deps.read.instansi_hint(nik))
    try:
        deps.selundupan.run(nip, lambda candidate: candidate.note(event, nip=nip),
                            {"actor": nip, "role": "anonymous"}, attempts=REGISTRATION_ATTEMPTS)
    except ConcurrencyError:
        pass  # counted by the concurrent attempts; this one answers nip_not_in_roster all the same


def record_nik_mismatch(deps: Deps, nip: str) -> None:
    """A wrong NIK for a roster NIP is kept on its roster stream (NikMismatched): it counts toward closing the NIP
    to registration, and the attempt stays in the record's audit history."""
    at = now().isoformat()
    try:
        deps.records.run(nip, lambda record: record.note_nik_mismatch(at), {"actor": nip, "role": "anonymous"},
                         attempts=REGISTRATION_ATTEMPTS)
    except ConcurrencyError:
        pass


def _check_roster(deps: Deps, data: dict) -> dict:
    """The PNS's roster row, or the spec's refusal (unknown NIP, NIK guessing, wrong NIK)."""
    nip = data["nip"]
    entry = deps.read.roster_entry(nip)
    if not entry:
        record_unknown_nip(deps, nip, data["nik"])
        raise AppError("nip_not_in_roster")
    wait = rules.nik_guess_wait(entry.get("nik_mismatches") or [], now())
    if wait:
        raise AppError("too_many_attempts", extra={"retry_after": wait})
    if entry.get("nik_bi") != blind_index("nik", data["nik"]):
        record_nik_mismatch(deps, nip)
        raise AppError("nik_mismatch", fields={"nik": ["NIK tidak sesuai dengan data induk"]})
    return entry["row"]


def register(deps: Deps, payload: dict, idempotency_key: str | None = None) -> dict:
    """Register a PNS of the roster; the account waits for a verifier's confirmation."""
    data = load_registration(payload)
    key = f"register:{idempotency_key}" if idempotency_key else None
    fingerprint = _fingerprint(data)
    try:
        if not campaign_is_open(deps.read.recent_campaign(), now()):
            raise AppError("campaign_closed")
        row = _check_roster(deps, data)
        account = deps.accounts.get(data["nip"])
        if account.blocks_registration:  # a repeat (a double click, a retry after a timeout): 409 without a hash
            raise AppError("already_registered")
    except AppError:
        # A client's repeat of a request that landed gets that request's answer, whatever changed since (its account
        # registered, the campaign closed). Looked up only on the way to a refusal, so a first try (nearly every
        # registration; the browser's always carry a key) reads no key record. A repeat that gets past here is
        # caught by its key's unique insert, which commits with the account's events.
        replayed = _landed(deps, key, fingerprint)
        if replayed:
            return replayed
        raise
    password_hash = POOL.run(hash_password, data["password"])
    for attempt in range(REGISTRATION_ATTEMPTS):
        if attempt:
            account = deps.accounts.get(data["nip"])
            # The collision may be this very request, tried again by its client while the first try still ran: the
            # first try's answer, not already_registered.
            replayed = _landed(deps, key, fingerprint)
            if replayed:
                return replayed
        response = _submit(deps.codec, account, data, row, password_hash)
        try:
            deps.accounts.save(account, {"actor": data["nip"], "role": "pns"}, idempotency_key=key,
                               idempotency_result={"fingerprint": fingerprint, "response": response} if key else None)
            return response
        except AlreadyApplied as exc:
            return _replay({"result": exc.result}, fingerprint)
        except ConcurrencyError:
            continue  # a concurrent registration, or a registration number collision: look again
    raise AppError("unavailable")


def _submit(codec: FieldCodec, account: PnsAccount, data: dict, row: dict, password_hash: str) -> dict:
    """Trigger the registration (personal values sealed) on the account; the response the PNS gets for it."""
    at, nip = now(), data["nip"]
    number = rules.new_registration_number(at.year)
    try:
        account.submit_registration(RegistrationSubmitted(
            registration_number=number, nip=nip, email=codec.seal(nip, data["email"]), nama=row["nama"],
            instansi_kode=row["instansi_kode"], instansi_nama=row["instansi_nama"], unit_kerja=row["unit_kerja"],
            password_hash=codec.seal(nip, password_hash), roster=seal_fields(codec, nip, row),
            registered_at=at.isoformat()))
    except DomainError as exc:
        raise AppError(exc.code) from None
    return {"registration_number": number, "nip": data["nip"], "nama": row["nama"],
            "instansi_nama": row["instansi_nama"], "status": "pending_confirmation",
            "receipt_path": receipt_path(number)}

