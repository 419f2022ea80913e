"""Read models of identity (roster, accounts, staff, campaign, selundupan), kept in step with the log."""
from __future__ import annotations

from collections.abc import Iterable

from pymongo import ASCENDING, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from identity.domain import NIK_GUESSES, TIMELINE_LABELS
from identity.roster import anomaly, row_anomalies
from pupns import jobs

ROSTER, ACCOUNTS, STAFF, CAMPAIGN, SELUNDUPAN = "roster", "accounts", "staff", "campaign", "selundupan"
SANCTION_EVENTS = ("MarkedNotReregistered", "Reinstated")


def ensure_read_model_indexes(db: Database) -> None:
    """Indexes the read models rely on (the registration-number index is what makes numbers unique)."""
    db[ACCOUNTS].create_index([("registration_number", ASCENDING)], unique=True)
    db[ACCOUNTS].create_index([("instansi_kode", ASCENDING), ("status", ASCENDING)])
    db[ROSTER].create_index([("nik", ASCENDING)])
    db[ROSTER].create_index([("instansi_kode", ASCENDING)])
    db[SELUNDUPAN].create_index([("instansi_kode", ASCENDING)])
    db[jobs.JOBS].create_index([("status", ASCENDING), ("created_at", ASCENDING)])


def timeline_entry(doc: dict) -> dict:
    """One `GET /me` timeline item for an account event."""
    data = doc.get("data", {})
    label = data.get("status") if doc["type"] == "AccountStatusChanged" else TIMELINE_LABELS.get(doc["type"])
    note = data.get("note") if doc["type"] == "AccountStatusChanged" else data.get("reason")
    return {"at": doc["meta"].get("occurred_at"), "type": label or doc["type"],
            "by_role": doc["meta"].get("role"), "note": note}


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


def apply_account(db: Database, doc: dict, session: ClientSession | None) -> None:
    """Fold one `account-{nip}` event into the `accounts` read model."""
    data, nip = doc["data"], doc["nip"]
    sets: dict = {"updated_at": doc["meta"]["occurred_at"]}
    if doc["type"] == "RegistrationSubmitted":
        sets.update({key: data.get(key) for key in ("registration_number", "email", "nama", "instansi_kode",
                                                    "instansi_nama", "unit_kerja", "password_hash",
                                                    "registered_at")})
        sets.update({"nip": nip, "status": "pending_confirmation", "form_status": None, "reason": None,
                     "note": None})
    elif doc["type"] == "AccountActivated":
        sets.update({"status": "active", "form_status": "draft", "confirmed_at": doc["meta"]["occurred_at"]})
    elif doc["type"] == "AccountRejected":
        sets.update({"status": "rejected", "reason": data.get("reason")})
    elif doc["type"] == "AccountStatusChanged":
        sets.update({"form_status": data["status"], "note": data.get("note")})
        if data["status"] == "submitted":
            sets["ever_submitted"] = True  # a submission exists: the campaign close never sanctions this PNS
    db[ACCOUNTS].update_one({"_id": nip}, {"$set": sets, "$push": {"timeline": timeline_entry(doc)}},
                            upsert=True, session=session)


def apply_other(db: Database, doc: dict, session: ClientSession | None) -> None:
    """Staff accounts, the campaign window and attempts with unknown NIPs."""
    data, at = doc["data"], doc["meta"]["occurred_at"]
    if doc["type"] == "StaffAccountCreated":
        db[STAFF].replace_one({"_id": data["username"]}, {**data, "_id": data["username"], "created_at": at},
                              upsert=True, session=session)
    elif doc["type"] in ("StaffAccountDisabled", "StaffAccountEnabled"):
        sets = {"disabled_at": at, "last_disabled_at": at} if doc["type"] == "StaffAccountDisabled" else \
            {"disabled_at": None}
        db[STAFF].update_one({"_id": data["username"]}, {"$set": sets}, session=session)
    elif doc["type"] == "CampaignScheduled":
        db[CAMPAIGN].replace_one({"_id": "current"}, {"_id": "current", "opens_at": data["opens_at"],
                                                      "closes_at": data["closes_at"], "updated_at": at},
                                 upsert=True, session=session)
    elif doc["type"] == "PasswordRehashed":
        target = db[ACCOUNTS] if data["kind"] == "pns" else db[STAFF]
        target.update_one({"_id": data["username"]}, {"$set": {"password_hash": data["password_hash"]}},
                          session=session)
    elif doc["type"] == "FormAnomaliesNoted":  # identity.form_anomalies: the latest submission's flags
        db[ROSTER].update_one({"_id": doc["nip"]}, {"$set": {"form_anomalies": data["codes"]}}, session=session)
    elif doc["type"] == "UnknownNipAttempted":
        # The latest attempt that could be attributed decides the instansi it is counted under.
        hint = data.get("instansi_hint")
        sets, on_insert = {"last_at": data["at"]}, {"first_at": data["at"]}
        (sets if hint else on_insert)["instansi_kode"] = hint
        db[SELUNDUPAN].update_one({"_id": data["nip"]}, {"$inc": {"attempts": 1}, "$set": sets,
                                                          "$setOnInsert": on_insert}, upsert=True, session=session)


def apply_nik_mismatch(db: Database, doc: dict, session: ClientSession | None) -> None:
    """`NikMismatched` on `roster-{nip}`: the latest wrong-NIK attempts, kept on the roster entry."""
    db[ROSTER].update_one({"_id": doc["nip"]}, {"$push": {"nik_mismatches": {"$each": [doc["data"]["at"]],
                                                                           "$slice": -NIK_GUESSES}},
                                                "$set": {"version": doc["version"]}}, session=session)


def apply_sanction(db: Database, doc: dict, session: ClientSession | None) -> None:
    """`MarkedNotReregistered` / `Reinstated` on `roster-{nip}`: a flag on the roster entry."""
    marked = doc["type"] == "MarkedNotReregistered"
    sets = {"not_reregistered": marked, "version": doc["version"], "updated_at": doc["meta"]["occurred_at"],
            "sanction_changed_at": doc["meta"]["occurred_at"]}
    db[ROSTER].update_one({"_id": doc["nip"]}, {"$set": sets}, session=session)


class Projector:
    """Applies identity events to every identity read model (used live and by `pupns replay`)."""

    collections = (ROSTER, ACCOUNTS, STAFF, CAMPAIGN, SELUNDUPAN, jobs.JOBS)

    def __init__(self, db: Database, ensure_indexes: bool = True):
        self.db = db
        self._indexed = not ensure_indexes

    def apply(self, docs: list[dict], session: ClientSession | None) -> None:
        """Apply events in order; roster events of the batch share one prefetch."""
        if not self._indexed:
            ensure_read_model_indexes(self.db)
            self._indexed = True
        roster_docs = [d for d in docs if d["type"] in ("RosterEntryImported", "RosterEntryCorrected")]
        view = RosterView(self.db)
        if roster_docs:
            view.prefetch((d["nip"] for d in roster_docs), (d["data"]["row"]["nik"] for d in roster_docs))
        for doc in docs:
            if doc["type"] in SANCTION_EVENTS:
                apply_sanction(self.db, doc, session)
            elif doc["type"] == "NikMismatched":
                apply_nik_mismatch(self.db, doc, session)
            elif doc["stream"].startswith("roster-"):
                view.apply(doc, session)
            elif doc["stream"].startswith("account-"):
                apply_account(self.db, doc, session)
            elif doc["stream"].startswith("job-"):
                jobs.apply(self.db, doc, session)
            else:
                apply_other(self.db, doc, session)
