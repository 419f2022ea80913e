"""The `roster` read model, written row by row or in bulk, with a cache for large imports."""
from __future__ import annotations

from collections.abc import Iterable

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from identity.domain.roster import anomaly, row_anomalies

ROSTER = "roster"


class RosterView:
    """The `roster` read model; caches what it prefetched so a batch costs two reads, not one per row."""

    def __init__(self, db: Database):
        self.col = db[ROSTER]
        self.by_nip: dict[str, dict] = {}
        self.nik_index: dict[str, set[str]] = {}
        self.complete = False  # True once prefetch_all loaded the whole collection

    def prefetch(self, nips: Iterable[str], niks: Iterable[str]) -> None:
        """Load existing entries for these NIPs and every NIP sharing their NIKs (old or new)."""
        if self.complete:
            return
        wanted = [n for n in set(nips) if n not in self.by_nip]
        if wanted:
            for doc in self.col.find({"_id": {"$in": wanted}}, {"imported": 1, "nik": 1, "version": 1}):
                self.by_nip[doc["_id"]] = doc
        all_niks = {n for n in niks if n not in self.nik_index}
        all_niks |= {doc["nik"] for doc in self.by_nip.values() if doc.get("nik") not in self.nik_index}
        if all_niks:
            for nik in all_niks:
                self.nik_index[nik] = set()
            for doc in self.col.find({"nik": {"$in": list(all_niks)}}, {"nik": 1}):
                self.nik_index[doc["nik"]].add(doc["_id"])

    def prefetch_all(self) -> None:
        """Load every entry in one scan: cheaper than many `$in` lookups for a large import."""
        for doc in self.col.find({}, {"imported": 1, "nik": 1, "version": 1}):
            self.by_nip[doc["_id"]] = doc
            self.nik_index.setdefault(doc.get("nik"), set()).add(doc["_id"])
        self.complete = True

    def known(self, nip: str) -> dict | None:
        return self.by_nip.get(nip)

    def forget(self, nip: str) -> None:
        """Drop a cached entry (after a failed transaction) so the next prefetch re-reads it."""
        self.complete = False
        doc = self.by_nip.pop(nip, None)
        if doc:
            self.nik_index.pop(doc.get("nik"), None)

    def apply_many(self, docs: list[dict], session: ClientSession | None) -> None:
        """Apply a batch of roster events with one bulk write (one round trip instead of one per row)."""
        pending: list[UpdateOne] = []
        for doc in docs:
            self.apply(doc, session, pending)
        self._flush(pending, session)

    def _flush(self, pending: list[UpdateOne] | None, session: ClientSession | None) -> None:
        if pending:
            self.col.bulk_write(pending, ordered=True, session=session)
            pending.clear()

    def apply(self, doc: dict, session: ClientSession | None, pending: list[UpdateOne] | None = None) -> None:
        row = doc["data"]["row"]
        nip, nik = doc["nip"], row["nik"]
        old = self.by_nip.get(nip) or {}
        old_nik = old.get("nik")
        if old_nik and old_nik != nik:
            self._flush(pending, session)  # NIK group changes touch other entries: write in order
            self._leave(nip, old_nik, session)
        others = self.nik_index.setdefault(nik, set()) - {nip}
        self.nik_index[nik].add(nip)
        if others and old_nik != nik:  # joining a NIK group: flag the others too
            self._flush(pending, session)
            self.col.update_many({"_id": {"$in": sorted(others)}, "anomalies.code": {"$ne": "nik_duplicate"}},
                                 {"$push": {"anomalies": anomaly("nik_duplicate")}}, session=session)
        flags = row_anomalies(row) + ([anomaly("nik_duplicate")] if others else [])
        imported = row if doc["type"] == "RosterEntryImported" else old.get("imported")
        entry = {"nip": nip, "nik": nik, "nama": row["nama"], "instansi_kode": row["instansi_kode"],
                 "row": row, "imported": imported, "anomalies": flags, "version": doc["version"],
                 "updated_at": doc["meta"]["occurred_at"]}
        # $set, not replace: the sanction fields (not_reregistered) outlive a re-import or a correction.
        if pending is None:
            self.col.update_one({"_id": nip}, {"$set": entry}, upsert=True, session=session)
        else:
            pending.append(UpdateOne({"_id": nip}, {"$set": entry}, upsert=True))
        self.by_nip[nip] = {"_id": nip, "imported": imported, "nik": nik, "version": doc["version"]}

    def _leave(self, nip: str, old_nik: str, session: ClientSession | None) -> None:
        remaining = self.nik_index.get(old_nik, set()) - {nip}
        self.nik_index[old_nik] = remaining
        if len(remaining) == 1:
            self.col.update_many({"_id": {"$in": list(remaining)}},
                                 {"$pull": {"anomalies": {"code": "nik_duplicate"}}}, session=session)
