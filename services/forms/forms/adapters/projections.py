"""forms' read models (`forms`: one document per PNS, `campaign`: the window, `nik_holders`) and their queries."""
from __future__ import annotations

from datetime import date
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database

from forms.adapters import nik_index
from forms.domain import CAMPAIGN_ID, Form
from forms.domain.anomalies import compute_anomalies
from pupns import projector
from pupns.campaign import cached_window
from pupns.personal import is_sealed

FORM_PREFIX = "form-"
Session = ClientSession | None


def occurred_on(doc: dict) -> date:
    """The event's own date, so rebuilding the read model later gives the same anomalies."""
    return date.fromisoformat(doc["meta"]["occurred_at"][:10])


def restore(nip: str, snapshot: dict | None) -> Form:
    """A Form in the state a read-model document records."""
    form = Form(nip)
    if snapshot:
        for name in ("version", "status", "instansi_kode", "jabatan", "roster", "sections", "notes",
                     "submitted_at"):
            setattr(form, name, snapshot[name])
        form.nik_bi, form.nik_mismatch = snapshot.get("nik_key"), snapshot.get("nik_mismatch")
    return form


def snapshot(form: Form, previous: dict | None, doc: dict, nik_shared: bool = False) -> dict[str, Any]:
    submitted = previous.get("submitted_sections") if previous else None
    if doc["type"] == "FormSubmitted":
        submitted = doc["data"]["sections"]
    return {
        "_id": form.id, "nip": form.id, "version": form.version, "status": form.status,
        "instansi_kode": form.instansi_kode, "jabatan": form.jabatan, "roster": form.roster,
        "sections": form.sections, "notes": form.notes, "submitted_at": form.submitted_at,
        "submitted_sections": submitted, "applicable_sections": form.applicable_sections(),
        "nama": (form.sections.get("data_utama") or {}).get("nama") or form.roster.get("nama"),
        "anomalies": compute_anomalies(form.id, form.sections, form.roster, occurred_on(doc), nik_shared,
                                       form.nik_mismatch),
        "nik_key": lookup_key(form), "nik_mismatch": form.nik_mismatch,
        "updated_at": doc["meta"]["occurred_at"],
    }


def lookup_key(form: Form) -> str | None:
    """The blind index of the form's NIK: the one its events carry (schema 2), or derived from a clear NIK
    (schema 1 events); never by decrypting."""
    if form.nik_bi:
        return form.nik_bi
    nik = form.current_nik()
    return None if is_sealed(nik) else nik_index.nik_key(nik)


class Projector(projector.Projector):
    """Keeps `forms`, `campaign` and `nik_holders` in step with the log (inside the append's transaction)."""

    collections = ("forms", "campaign", nik_index.COLLECTION)

    def _on_CampaignObserved(self, doc: dict, session: Session) -> None:
        data = doc["data"]
        cached_window(self.db).forget()
        self.db["campaign"].replace_one(
            {"_id": CAMPAIGN_ID},
            {"_id": CAMPAIGN_ID, "opens_at": data["opens_at"], "closes_at": data["closes_at"],
             "source_version": data.get("source_version", 0), "version": doc["version"]},
            upsert=True, session=session)

    def _form(self, doc: dict, session: Session) -> None:
        """Every form event: the document is the Form's state after it, with anomalies and the NIK lookup."""
        nip = doc["stream"][len(FORM_PREFIX):]
        previous = self.db["forms"].find_one({"_id": nip}, session=session)
        form = restore(nip, previous)
        form.apply_stored(doc["type"], doc["data"], doc["version"])
        key = lookup_key(form)
        nik_index.move(self.db, nip, (previous or {}).get("nik_key"), key, session)
        shared = bool(nik_index.holders(self.db, key, session) - {nip})
        self.db["forms"].replace_one({"_id": nip}, snapshot(form, previous, doc, shared), upsert=True,
                                     session=session)

    _on_FormOpened = _on_SectionSaved = _on_FormSubmitted = _form
    _on_FormReturned = _on_FormVerified = _on_FormReopened = _form

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """Create the read-model collections up front (appends write them inside transactions)."""
        db["forms"].create_index([("instansi_kode", 1), ("status", 1)])
        db["campaign"].create_index([("version", 1)])
        db[nik_index.COLLECTION].create_index([("nips", 1)])  # creates it up front; an erasure finds a NIP by it


class ReadModels:
    """The queries forms' use cases ask of the read models."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def form(self, nip: str) -> dict | None:
        return self.db["forms"].find_one({"_id": nip})

    def campaign_window(self) -> dict | None:
        """{opens_at, closes_at, ...} as last observed; None before any schedule."""
        return self.db["campaign"].find_one({"_id": CAMPAIGN_ID})

    def recent_campaign_window(self) -> dict | None:
        """The window as this process read it at most pupns.campaign.WINDOW_TTL_SECONDS ago (every save asks)."""
        return cached_window(self.db).get(self.campaign_window)

    def nik_holders(self, key: str | None) -> set[str]:
        """The NIPs whose current form states the NIK behind the blind index `key`."""
        return nik_index.holders(self.db, key)

    def stated_nik(self, nip: str) -> str | None:
        """The NIK token another form states now (for telling whether that PNS's data was erased)."""
        doc = self.db["forms"].find_one({"_id": nip}, {"sections.data_utama.nik": 1, "roster.nik": 1}) or {}
        return ((doc.get("sections") or {}).get("data_utama") or {}).get("nik") or (doc.get("roster") or {}).get("nik")
