"""The same NIK on two NIPs: forms' own lookup of which NIPs state a NIK, keyed by its blind index.

Built only from forms' own events (the blind index each `FormOpened` and saved `data_utama` carries, computed by
the command from the clear NIK before sealing it; derived from the clear NIK of schema 1 events), so no other
service's database is read, nothing is decrypted and no NIK is stored in clear here. Kept inside the append's
transaction by the projector; `pupns replay forms` rebuilds it with the forms. An erased PNS stays listed (blind
indexes survive erasure, and a replay must rebuild the same lookup); the submission's check leaves it out
(`forms.commands.nik_shared`).
"""
from __future__ import annotations

from pymongo.client_session import ClientSession
from pymongo.database import Database

from forms.domain.anomalies import NIK_DUPLICATE, nik_duplicate_flag
from pupns.blind_index import blind_index

COLLECTION = "nik_holders"  # {_id: blind index of a NIK, nips: [NIP, ...]}
FORMS = "forms"


def nik_key(nik: str | None) -> str | None:
    """The lookup key of a NIK; None when the form states none."""
    return blind_index("nik", nik) if nik and str(nik).strip() else None


def holders(db: Database, key: str | None, session: ClientSession | None = None) -> set[str]:
    """The NIPs whose current form states the NIK behind `key`."""
    if key is None:
        return set()
    doc = db[COLLECTION].find_one({"_id": key}, session=session)
    return set(doc["nips"]) if doc else set()


def move(db: Database, nip: str, old_key: str | None, new_key: str | None,
         session: ClientSession | None) -> None:
    """`nip` now states the NIK of `new_key`: update the lookup and the flag on the other holders' forms."""
    if old_key == new_key:
        return
    if old_key is not None:
        db[COLLECTION].update_one({"_id": old_key}, {"$pull": {"nips": nip}}, session=session)
        db[COLLECTION].delete_one({"_id": old_key, "nips": {"$size": 0}}, session=session)
        remaining = holders(db, old_key, session)
        if len(remaining) == 1:  # the last one left alone is no longer a duplicate
            db[FORMS].update_many({"_id": {"$in": sorted(remaining)}},
                                  {"$pull": {"anomalies": {"code": NIK_DUPLICATE}}}, session=session)
    if new_key is not None:
        others = holders(db, new_key, session) - {nip}
        db[COLLECTION].update_one({"_id": new_key}, {"$addToSet": {"nips": nip}}, upsert=True, session=session)
        if others:
            db[FORMS].update_many({"_id": {"$in": sorted(others)}, "anomalies.code": {"$ne": NIK_DUPLICATE}},
                                  {"$push": {"anomalies": nik_duplicate_flag()}}, session=session)
