"""The `roster` read model, written row by row or in bulk, with a cache for large imports.

Rows hold their personal columns sealed (copied from the events as they are); NIK groups are found by `nik_bi`,
the NIK's blind index, never by the NIK. Events of schema_version 1 (clear rows) get the same facts worked out here.
"""
from __future__ import annotations

from collections.abc import Iterable

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from identity.adapters.personal import keyed_digest
from identity.domain.roster import anomaly, row_anomalies
from pupns.blind_index import blind_index
from pupns.eventstore import canonical_json

ROSTER = "roster"
CACHED = {"fingerprint": 1, "nik_bi": 1, "version": 1}


def row_fingerprint(row: dict) -> str:
    """A keyed digest of a clear roster row: a re-imported row with the same digest is unchanged."""
    return keyed_digest("roster_row", canonical_json(row))


def nik_bi_of(data: dict) -> str:
    """The NIK blind index of a roster event's data (worked out from the clear row of a v1 event)."""
    return data.get("nik_bi") or blind_index("nik", data["row"]["nik"])


def facts_of(doc: dict) -> tuple[str, str | None, list[dict]]:
    """(nik_bi, fingerprint, anomalies) of a roster event: stored with it (v2), or from its clear row (v1)."""
    data = doc["data"]
    if doc.get("schema_version", 1) >= 2:
        return data["nik_bi"], data.get("fingerprint"), [anomaly(code) for code in data.get("anomaly_codes") or []]
    row = data["row"]
    return nik_bi_of(data), row_fingerprint(row), row_anomalies(row)


class RosterView:
    """The `roster` read model; caches what it prefetched so a batch costs two reads, not one per row."""

    def __init__(self, db: Database):
        self.col = db[ROSTER]
        self.by_nip: dict[str, dict] = {}
        self.nik_index: dict[str, set[str]] = {}
        self.complete = False  # True once prefetch_all loaded the whole collection

    def prefetch(self, nips: Iterable[str], nik_bis: Iterable[str]) -> None:
        """Load existing entries for these NIPs and every NIP sharing their NIKs (old or new), by blind index."""
        if self.complete:
            return
        wanted = [n for n in set(nips) if n not in self.by_nip]
        if wanted:
            for doc in self.col.find({"_id": {"$in": wanted}}, CACHED):
                self.by_nip[doc["_id"]] = doc
        all_bis = {n for n in nik_bis if n not in self.nik_index}
        all_bis |= {doc["nik_bi"] for doc in self.by_nip.values()
                    if doc.get("nik_bi") and doc["nik_bi"] not in self.nik_index}
        if all_bis:
            for bi in all_bis:
                self.nik_index[bi] = set()
            for doc in self.col.find({"nik_bi": {"$in": list(all_bis)}}, {"nik_bi": 1}):
                self.nik_index[doc["nik_bi"]].add(doc["_id"])

    def prefetch_all(self) -> None:
        """Load every entry in one scan: cheaper than many `$in` lookups for a large import."""
        for doc in self.col.find({}, CACHED):
            self.by_nip[doc["_id"]] = doc
            self.nik_index.setdefault(doc.get("nik_bi"), set()).add(doc["_id"])
        self.complete = True

    def known(self, nip: str) -> dict | None:
        return self.by_nip.get(nip)

    def forget(self, nip: str) -> None:
        """Drop a cached entry (after a failed transaction) so the next prefetch re-reads it."""
        self.complete = False
        doc = self.by_nip.pop(nip, None)
        if doc:
            self.nik_index.pop(doc.get("nik_bi"), None)

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
        nip = doc["nip"]
        nik_bi, fingerprint, own_flags = facts_of(doc)
        old = self.by_nip.get(nip) or {}
        old_bi = old.get("nik_bi")
        if old_bi and old_bi != nik_bi:
            self._flush(pending, session)  # NIK group changes touch other entries: write in order
            self._leave(nip, old_bi, session)
        others = self.nik_index.setdefault(nik_bi, set()) - {nip} if nik_bi else set()
        if nik_bi:
            self.nik_index[nik_bi].add(nip)
        if others and old_bi != nik_bi:  # joining a NIK group: flag the others too
            self._flush(pending, session)
            self.col.update_many({"_id": {"$in": sorted(others)}, "anomalies.code": {"$ne": "nik_duplicate"}},
                                 {"$push": {"anomalies": anomaly("nik_duplicate")}}, session=session)
        flags = own_flags + ([anomaly("nik_duplicate")] if others else [])
        entry = {"nip": nip, "nik_bi": nik_bi, "nama": row["nama"], "instansi_kode": row["instansi_kode"],
                 "row": row, "anomalies": flags, "version": doc["version"], "updated_at": doc["meta"]["occurred_at"]}
        if doc["type"] == "RosterEntryImported":  # a correction keeps what the roster file said
            entry.update(imported=row, fingerprint=fingerprint)
        else:
            fingerprint = old.get("fingerprint")
        # $set, not replace: the sanction fields (not_reregistered) outlive a re-import or a correction.
        if pending is None:
            self.col.update_one({"_id": nip}, {"$set": entry}, upsert=True, session=session)
        else:
            pending.append(UpdateOne({"_id": nip}, {"$set": entry}, upsert=True))
        self.by_nip[nip] = {"_id": nip, "fingerprint": fingerprint, "nik_bi": nik_bi, "version": doc["version"]}

    def _leave(self, nip: str, old_bi: str, session: ClientSession | None) -> None:
        remaining = self.nik_index.get(old_bi, set()) - {nip}
        self.nik_index[old_bi] = remaining
        if len(remaining) == 1:
            self.col.update_many({"_id": {"$in": list(remaining)}},
                                 {"$pull": {"anomalies": {"code": "nik_duplicate"}}}, session=session)
