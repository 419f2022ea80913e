"""The Form aggregate: a PNS's sections moving draft → submitted → returned/verified."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from forms.domain.events import FormOpened, FormReopened, FormReturned, FormSubmitted, FormVerified, SectionSaved
from pupns.aggregate import Aggregate, DomainError, DomainEvent
from pupns.sections import SECTION_KEYS

LIST_SECTIONS = frozenset(k for k in SECTION_KEYS if k.startswith("riwayat_"))
REQUIRED_SECTIONS = ("data_utama", "data_posisi", "riwayat_pendidikan", "riwayat_golongan", "riwayat_jabatan")
# Sections that exist only for some jabatan: the word that must appear in it.
ROLE_SECTIONS = {"data_guru": re.compile(r"\bguru\b", re.I), "data_dokter": re.compile(r"\bdokter\b", re.I)}
LOCKED = frozenset({"submitted", "verified"})


def stream_name(nip: str) -> str:
    return f"form-{nip}"


class Form(Aggregate):
    """One PNS's re-registration form (stream `form-{nip}`)."""

    EVENTS = (FormOpened, SectionSaved, FormSubmitted, FormReturned, FormVerified, FormReopened)
    SNAPSHOT_FIELDS = ("status", "instansi_kode", "jabatan", "roster", "sections", "notes", "submitted_at", "nik_bi",
                       "nik_mismatch")

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.status: str | None = None
        self.instansi_kode: str | None = None
        self.jabatan: str | None = None
        self.roster: dict[str, Any] = {}
        self.sections: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.submitted_at: str | None = None
        # What the command found about the form's clear NIK (its values are sealed; see events.py).
        self.nik_bi: str | None = None
        self.nik_mismatch: bool | None = None

    # -- queries -----------------------------------------------------------------
    @property
    def opened(self) -> bool:
        return self.status is not None

    def current_jabatan(self) -> str:
        posisi = self.sections.get("data_posisi") or {}
        return posisi.get("jabatan") or self.jabatan or ""

    def applicable_sections(self) -> list[str]:
        jabatan = self.current_jabatan()
        return [k for k in SECTION_KEYS if k not in ROLE_SECTIONS or ROLE_SECTIONS[k].search(jabatan)]

    def birth_date(self) -> date | None:
        """Birth date as the form states it, else as the NIP encodes it."""
        stated = (self.sections.get("data_utama") or {}).get("tanggal_lahir")
        try:
            return date.fromisoformat(stated)
        except (TypeError, ValueError):
            pass
        try:
            return datetime.strptime(self.id[:8], "%Y%m%d").date()
        except ValueError:
            return None

    def current_nik(self) -> str | None:
        """The NIK the form states now (the roster's until the PNS saves `data_utama`): a sealed token, or the
        clear value of a version 1 event."""
        return (self.sections.get("data_utama") or {}).get("nik") or self.roster.get("nik")

    def submittable_sections(self) -> dict[str, Any]:
        applicable = self.applicable_sections()
        return {k: v for k, v in self.sections.items() if k in applicable}

    # -- commands ----------------------------------------------------------------
    def open(self, instansi_kode: str, jabatan: str | None, roster: dict, sections: dict,
             nik_bi: str | None = None, nik_mismatch: bool | None = None) -> bool:
        """Open the form once; a repeated confirmation changes nothing."""
        if self.opened:
            return False
        self.trigger(FormOpened(instansi_kode, jabatan, roster, sections, nik_bi, nik_mismatch))
        return True

    def check_editable(self, key: str, campaign_open: bool) -> None:
        if not self.opened:
            raise DomainError("not_found")
        if key not in SECTION_KEYS:
            raise DomainError("unknown_section")
        if self.status in LOCKED:
            raise DomainError("form_locked")
        if not campaign_open:
            raise DomainError("campaign_closed")
        if key not in self.applicable_sections():
            raise DomainError("section_not_applicable")

    def save_section(self, key: str, value: Any, campaign_open: bool, nik_bi: str | None = None,
                     nik_mismatch: bool | None = None) -> None:
        self.check_editable(key, campaign_open)
        self.trigger(SectionSaved(key, value, nik_bi, nik_mismatch))

    def submit(self, campaign_open: bool, submitted_at: str, problems: dict[str, list[str]],
               anomalies: list[dict]) -> None:
        """Lock the form; `problems` are completeness reasons per section found by the caller."""
        if not self.opened:
            raise DomainError("not_found")
        if self.status in LOCKED:
            raise DomainError("form_locked")
        if not campaign_open:
            raise DomainError("campaign_closed")
        missing = {k: ["wajib diisi"] for k in REQUIRED_SECTIONS if not self.sections.get(k)}
        problems = {**problems, **missing}
        if problems:
            raise DomainError("incomplete", fields=problems)
        nama = (self.sections.get("data_utama") or {}).get("nama") or self.roster.get("nama")
        self.trigger(FormSubmitted(self.submittable_sections(), submitted_at, anomalies,
                                        self.instansi_kode or "", nama))

    def mark_returned(self, notes: dict[str, str]) -> bool:
        if self.status != "submitted":
            return False
        self.trigger(FormReturned(notes))
        return True

    def mark_verified(self) -> bool:
        if self.status != "submitted":
            return False
        self.trigger(FormVerified())
        return True

    def reopen(self, reason: str) -> None:
        if not self.opened:
            raise DomainError("not_found")
        if self.status != "verified":
            raise DomainError("invalid_state")
        self.trigger(FormReopened(reason))

    # -- state changes -----------------------------------------------------------
    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, FormOpened):
            self.status, self.instansi_kode, self.jabatan = "draft", event.instansi_kode, event.jabatan
            self.roster, self.sections = dict(event.roster), dict(event.sections)
            self.nik_bi, self.nik_mismatch = event.nik_bi, event.nik_mismatch
        elif isinstance(event, SectionSaved):
            self.sections = {**self.sections, event.section: event.value}
            if event.section == "data_utama":
                self.nik_bi, self.nik_mismatch = event.nik_bi, event.nik_mismatch
        elif isinstance(event, FormSubmitted):
            self.status, self.submitted_at, self.notes = "submitted", event.submitted_at, {}
        elif isinstance(event, FormReturned):
            self.status, self.notes = "returned", dict(event.notes)
        elif isinstance(event, FormVerified):
            self.status = "verified"
        elif isinstance(event, FormReopened):
            self.status, self.notes = "draft", {}
