"""Read models of identity (roster, accounts, staff, campaign, selundupan), kept in step with the log."""
from __future__ import annotations

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from identity.adapters.roster_view import ROSTER, RosterView, nik_bi_of
from identity.domain.rules import NIK_GUESSES, TIMELINE_LABELS
from pupns import jobs
from pupns.campaign import cached_window
from pupns.projector import Projector as ProjectorBase

ACCOUNTS, STAFF, CAMPAIGN, SELUNDUPAN = "accounts", "staff", "campaign", "selundupan"
SANCTION_EVENTS = ("MarkedNotReregistered", "Reinstated")
ROSTER_EVENTS = ("RosterEntryImported", "RosterEntryCorrected")


def timeline_entry(doc: dict) -> dict:
    """One `GET /me` timeline item for an account event."""
    data = doc.get("data", {})
    label = data.get("status") if doc["type"] == "AccountStatusChanged" else TIMELINE_LABELS.get(doc["type"])
    note = data.get("note") if doc["type"] == "AccountStatusChanged" else data.get("reason")
    return {"at": doc["meta"].get("occurred_at"), "type": label or doc["type"],
            "by_role": doc["meta"].get("role"), "note": note}


class Projector(ProjectorBase):
    """Applies identity events to every identity read model (used live and by `pupns replay`); personal values are
    copied sealed, as the events hold them, so a replay rebuilds equal read models."""

    collections = (ROSTER, ACCOUNTS, STAFF, CAMPAIGN, SELUNDUPAN, jobs.JOBS)

    def __init__(self, db: Database):
        super().__init__(db)
        self.view = RosterView(db)

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """Indexes the read models rely on (the registration-number index is what makes numbers unique)."""
        db[ACCOUNTS].create_index([("registration_number", ASCENDING)], unique=True)
        db[ACCOUNTS].create_index([("instansi_kode", ASCENDING), ("status", ASCENDING)])
        db[ROSTER].create_index([("nik_bi", ASCENDING)])
        db[ROSTER].create_index([("instansi_kode", ASCENDING)])
        db[SELUNDUPAN].create_index([("instansi_kode", ASCENDING)])
        db[jobs.JOBS].create_index([("status", ASCENDING), ("created_at", ASCENDING)])

    def apply(self, docs: list[dict], session: ClientSession | None = None) -> None:
        """Apply events in order; roster events of the batch share one prefetch (a fresh one per batch: the
        cache must not outlive a transaction that may abort)."""
        self.view = RosterView(self.db)
        roster_docs = [d for d in docs if d["type"] in ROSTER_EVENTS]
        if roster_docs:
            self.view.prefetch((d["nip"] for d in roster_docs), (nik_bi_of(d["data"]) for d in roster_docs))
        for doc in docs:
            if doc["stream"].startswith("job-"):
                jobs.apply(self.db, doc, session)
            else:
                super().apply([doc], session)

    # -- roster-{nip} -------------------------------------------------------------------------------------
    def _on_RosterEntryImported(self, doc: dict, session: ClientSession | None) -> None:
        self.view.apply(doc, session)

    _on_RosterEntryCorrected = _on_RosterEntryImported

    def _on_NikMismatched(self, doc: dict, session: ClientSession | None) -> None:
        """The latest wrong-NIK attempts, kept on the roster entry."""
        self.db[ROSTER].update_one({"_id": doc["nip"]}, {
            "$push": {"nik_mismatches": {"$each": [doc["data"]["at"]], "$slice": -NIK_GUESSES}},
            "$set": {"version": doc["version"]}}, session=session)

    def _on_MarkedNotReregistered(self, doc: dict, session: ClientSession | None) -> None:
        """The campaign-close sanction and its lifting: a flag on the roster entry."""
        at = doc["meta"]["occurred_at"]
        sets = {"not_reregistered": doc["type"] == "MarkedNotReregistered", "version": doc["version"],
                "updated_at": at, "sanction_changed_at": at}
        self.db[ROSTER].update_one({"_id": doc["nip"]}, {"$set": sets}, session=session)

    _on_Reinstated = _on_MarkedNotReregistered

    def _on_FormAnomaliesNoted(self, doc: dict, session: ClientSession | None) -> None:
        """The latest submission's anomaly flags (see commands.form_anomalies)."""
        self.db[ROSTER].update_one({"_id": doc["nip"]}, {"$set": {"form_anomalies": doc["data"]["codes"]}},
                                   session=session)

    # -- account-{nip} ------------------------------------------------------------------------------------
    def _account(self, doc: dict, sets: dict, session: ClientSession | None) -> None:
        sets = {"updated_at": doc["meta"]["occurred_at"], **sets}
        self.db[ACCOUNTS].update_one({"_id": doc["nip"]}, {"$set": sets, "$push": {"timeline": timeline_entry(doc)}},
                                     upsert=True, session=session)

    def _on_RegistrationSubmitted(self, doc: dict, session: ClientSession | None) -> None:
        data = doc["data"]
        sets = {key: data.get(key) for key in ("registration_number", "email", "nama", "instansi_kode",
                                               "instansi_nama", "unit_kerja", "password_hash", "registered_at")}
        self._account(doc, {**sets, "nip": doc["nip"], "status": "pending_confirmation", "form_status": None,
                            "reason": None, "note": None}, session)

    def _on_AccountActivated(self, doc: dict, session: ClientSession | None) -> None:
        self._account(doc, {"status": "active", "form_status": "draft",
                            "confirmed_at": doc["meta"]["occurred_at"]}, session)

    def _on_AccountRejected(self, doc: dict, session: ClientSession | None) -> None:
        self._account(doc, {"status": "rejected", "reason": doc["data"].get("reason")}, session)

    def _on_AccountStatusChanged(self, doc: dict, session: ClientSession | None) -> None:
        data = doc["data"]
        sets = {"form_status": data["status"], "note": data.get("note")}
        if data["status"] == "submitted":
            sets["ever_submitted"] = True  # a submission exists: the campaign close never sanctions this PNS
        self._account(doc, sets, session)

    # -- staff, passwords, campaign, selundupan -----------------------------------------------------------
    def _on_StaffAccountCreated(self, doc: dict, session: ClientSession | None) -> None:
        data = doc["data"]
        self.db[STAFF].replace_one({"_id": data["username"]}, {**data, "_id": data["username"],
                                                               "created_at": doc["meta"]["occurred_at"]},
                                   upsert=True, session=session)

    def _on_StaffAccountDisabled(self, doc: dict, session: ClientSession | None) -> None:
        at = doc["meta"]["occurred_at"]
        self.db[STAFF].update_one({"_id": doc["data"]["username"]},
                                  {"$set": {"disabled_at": at, "last_disabled_at": at}}, session=session)

    def _on_StaffAccountEnabled(self, doc: dict, session: ClientSession | None) -> None:
        self.db[STAFF].update_one({"_id": doc["data"]["username"]}, {"$set": {"disabled_at": None}},
                                  session=session)

    def _on_StaffPasswordChanged(self, doc: dict, session: ClientSession | None) -> None:
        """The new (sealed) hash; `password_changed_at` voids the account's older tokens (pupns.revocation)."""
        self.db[STAFF].update_one({"_id": doc["data"]["username"]}, {"$set": {
            "password_hash": doc["data"]["password_hash"], "password_changed_at": doc["meta"]["occurred_at"]}},
            session=session)

    def _on_PasswordRehashed(self, doc: dict, session: ClientSession | None) -> None:
        data = doc["data"]
        target = self.db[ACCOUNTS] if data["kind"] == "pns" else self.db[STAFF]
        target.update_one({"_id": data["username"]}, {"$set": {"password_hash": data["password_hash"]}},
                          session=session)

    def _on_CampaignScheduled(self, doc: dict, session: ClientSession | None) -> None:
        data = doc["data"]
        cached_window(self.db).forget()
        self.db[CAMPAIGN].replace_one({"_id": "current"}, {
            "_id": "current", "opens_at": data["opens_at"], "closes_at": data["closes_at"],
            "updated_at": doc["meta"]["occurred_at"]}, upsert=True, session=session)

    def _on_CampaignClosed(self, doc: dict, session: ClientSession | None) -> None:
        """Who closed this window: the deadline's clock leaves an administrator's close (and its job) alone."""
        cached_window(self.db).forget()
        self.db[CAMPAIGN].update_one({"_id": "current", "closes_at": doc["data"]["closes_at"]}, {"$set": {
            "closed_for": doc["data"]["closes_at"], "closed_by": doc["meta"].get("role")}}, session=session)

    def _on_UnknownNipAttempted(self, doc: dict, session: ClientSession | None) -> None:
        """The latest attempt that could be attributed decides the instansi it is counted under."""
        data = doc["data"]
        hint = data.get("instansi_hint")
        sets, on_insert = {"last_at": data["at"]}, {"first_at": data["at"]}
        (sets if hint else on_insert)["instansi_kode"] = hint
        self.db[SELUNDUPAN].update_one({"_id": data["nip"]}, {"$inc": {"attempts": 1}, "$set": sets,
                                                               "$setOnInsert": on_insert}, upsert=True,
                                       session=session)
