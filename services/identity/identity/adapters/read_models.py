"""Queries on identity's read models, for the use cases (which never touch pymongo themselves)."""
from __future__ import annotations

from collections.abc import Iterable

from pymongo.database import Database

from identity.adapters.projections import ACCOUNTS, CAMPAIGN, ROSTER, SELUNDUPAN, STAFF
from pupns import jobs
from pupns.blind_index import blind_index
from pupns.campaign import cached_window

# Registered (pending or confirmed) and never submitted: who is reminded of the deadline.
REMINDED = {"status": {"$in": ["pending_confirmation", "active"]}, "ever_submitted": {"$ne": True}}


class ReadModels:
    """The roster, accounts, staff, campaign and job read models of one identity database."""

    def __init__(self, db: Database):
        self.db = db

    # -- campaign -----------------------------------------------------------------------------------------
    def campaign(self) -> dict | None:
        """The current window {opens_at, closes_at}, None when never scheduled."""
        return self.db[CAMPAIGN].find_one({"_id": "current"})

    def recent_campaign(self) -> dict | None:
        """The window as this process read it at most pupns.campaign.WINDOW_TTL_SECONDS ago (every registration
        asks)."""
        return cached_window(self.db).get(self.campaign)

    # -- roster -------------------------------------------------------------------------------------------
    def roster_entry(self, nip: str) -> dict | None:
        return self.db[ROSTER].find_one({"_id": nip})

    def instansi_hint(self, nik: str) -> str | None:
        """The instansi of a roster PNS with this NIK, else the instansi whose code is the NIK's region (PPKK, as
        regional governments are coded), else none."""
        same_nik = self.db[ROSTER].find_one({"nik_bi": blind_index("nik", nik)}, {"instansi_kode": 1})
        if same_nik:
            return same_nik["instansi_kode"]
        region = self.db[ROSTER].find_one({"instansi_kode": nik[:4]}, {"instansi_kode": 1})
        return region["instansi_kode"] if region else None

    def not_reregistered(self, nip: str) -> bool:
        return bool((self.db[ROSTER].find_one({"_id": nip}, {"not_reregistered": 1}) or {}).get("not_reregistered"))

    def instansi_codes(self) -> list[str]:
        return sorted(k for k in self.db[ROSTER].distinct("instansi_kode") if k)

    def roster_count(self, only_not_reregistered: bool = False) -> int:
        return self.db[ROSTER].count_documents({"not_reregistered": True} if only_not_reregistered else {})

    def roster_page(self, instansi_kode: str, after: str, limit: int) -> list[dict]:
        """The next roster PNS of one instansi after NIP `after`, in NIP order."""
        return list(self.db[ROSTER].find({"instansi_kode": instansi_kode, "_id": {"$gt": after}},
                                         {"_id": 1, "not_reregistered": 1}).sort("_id", 1).limit(limit))

    def instansi_names(self, codes: Iterable[str | None]) -> dict[str, str | None]:
        names = {}
        for code in set(codes) - {None}:
            row = self.db[ROSTER].find_one({"instansi_kode": code}, {"row.instansi_nama": 1})
            names[code] = ((row or {}).get("row") or {}).get("instansi_nama")
        return names

    # -- accounts -----------------------------------------------------------------------------------------
    def account(self, nip: str) -> dict | None:
        return self.db[ACCOUNTS].find_one({"_id": nip})

    def account_by_number(self, registration_number: str) -> dict | None:
        return self.db[ACCOUNTS].find_one({"registration_number": registration_number})

    def ever_submitted(self, nips: list[str]) -> set[str]:
        return {d["_id"] for d in self.db[ACCOUNTS].find({"_id": {"$in": nips}, "ever_submitted": True}, {"_id": 1})}

    def reminded_count(self) -> int:
        return self.db[ACCOUNTS].count_documents(REMINDED)

    def reminded_page(self, after: str, limit: int) -> list[dict]:
        """Registered PNS never submitted, after NIP `after`, in NIP order."""
        return list(self.db[ACCOUNTS].find({**REMINDED, "_id": {"$gt": after}}, {"_id": 1, "instansi_kode": 1})
                    .sort("_id", 1).limit(limit))

    # -- staff --------------------------------------------------------------------------------------------
    def staff(self, username: str) -> dict | None:
        return self.db[STAFF].find_one({"_id": username})

    def verifiers(self, instansi_kode: str | None, after: str | None, limit: int) -> list[dict]:
        """Verifier accounts (of one instansi), by username."""
        query: dict = {"role": "verifier"}
        if instansi_kode:
            query["instansi_kode"] = instansi_kode
        if after:
            query["_id"] = {"$gt": after}
        return list(self.db[STAFF].find(query).sort("_id", 1).limit(limit))

    def ever_revoked(self) -> list[dict]:
        """Staff accounts ever disabled or whose password changed: some of their tokens are void."""
        query = {"$or": [{"last_disabled_at": {"$ne": None}}, {"password_changed_at": {"$ne": None}}]}
        return list(self.db[STAFF].find(query, {"disabled_at": 1, "last_disabled_at": 1, "password_changed_at": 1}))

    # -- jobs ---------------------------------------------------------------------------------------------
    def close_job_exists(self, kind: str, closes_at: str) -> bool:
        return self.db[jobs.JOBS].find_one({"kind": kind, "input.closes_at": closes_at}, {"_id": 1}) is not None

    def job_input(self, job_id: str) -> dict:
        return (self.db[jobs.JOBS].find_one({"_id": job_id}, {"input": 1}) or {}).get("input") or {}

    def active_job_inputs(self, kind: str) -> list[dict]:
        return [d["input"] for d in self.db[jobs.JOBS].find({"kind": kind, "status": {"$in": list(jobs.ACTIVE)}},
                                                            {"input": 1})]

    # -- the admin dashboard ------------------------------------------------------------------------------
    def group_counts(self, roster: list, accounts: list, selundupan: list) -> tuple[list, list, list]:
        """Run the dashboard's three aggregation pipelines (roster, accounts, selundupan)."""
        return (list(self.db[ROSTER].aggregate(roster)), list(self.db[ACCOUNTS].aggregate(accounts)),
                list(self.db[SELUNDUPAN].aggregate(selundupan)))
