"""The PnsRecord aggregate: one roster PNS (stream `roster-{nip}`) and the campaign sanction on it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from identity.domain.events import (
    MarkedNotReregistered,
    NikMismatched,
    Reinstated,
    RosterEntryCorrected,
    RosterEntryImported,
)
from pupns.aggregate import Aggregate, DomainError, DomainEvent

ROSTER_STREAM = "roster-{nip}"


class PnsRecord(Aggregate):
    """A roster entry seen as the PNS's national record: excluded (not_reregistered) or not."""

    EVENTS = (RosterEntryImported, RosterEntryCorrected, MarkedNotReregistered, Reinstated, NikMismatched)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.nip = id
        self.row: dict[str, Any] | None = None  # personal columns sealed (clear in v1 events)
        self.nik_bi: str | None = None
        self.instansi_kode: str | None = None
        self.not_reregistered = False
        self.marked_closes_at: str | None = None
        self.closes_sanctioned: set[str] = set()  # a reinstated PNS is not marked again for the same close

    @property
    def on_roster(self) -> bool:
        return self.instansi_kode is not None

    def mark_not_reregistered(self, closes_at: str) -> bool:
        """Sanction once per close; marking again, or after a reinstatement for this close, changes nothing."""
        if not self.on_roster or self.not_reregistered or closes_at in self.closes_sanctioned:
            return False
        self.trigger(MarkedNotReregistered(closes_at))
        return True

    def reinstate(self, reason: str) -> None:
        if not self.on_roster:
            raise DomainError("not_found")
        if not self.not_reregistered:
            raise DomainError("invalid_state")
        self.trigger(Reinstated(reason))

    def lift_for_submission(self, submitted_at: str, reason: str) -> bool:
        """A submission made before the close it was sanctioned for lifts the sanction by itself."""
        if not self.not_reregistered or not self.marked_closes_at:
            return False
        if datetime.fromisoformat(submitted_at) > datetime.fromisoformat(self.marked_closes_at):
            return False
        self.trigger(Reinstated(reason, automatic=True))
        return True

    def note_nik_mismatch(self, at: str) -> None:
        """A wrong NIK for this NIP: it counts toward closing the NIP to registration (and stays in the audit)."""
        self.trigger(NikMismatched(at))

    def correct(self, row: dict[str, Any], from_submission: str, nik_bi: str | None = None,
                anomaly_codes: list[str] | None = None) -> bool:
        """An approved submission's values become the roster's (False when they change nothing). The caller
        compares clear rows before sealing: sealed rows never compare equal (random nonces)."""
        if self.row is None or row == self.row:
            return False
        self.trigger(RosterEntryCorrected(row, from_submission, nik_bi, anomaly_codes))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, (RosterEntryImported, RosterEntryCorrected)):
            self.row, self.instansi_kode = event.row, event.row.get("instansi_kode")
            self.nik_bi = event.nik_bi or self.nik_bi
        elif isinstance(event, MarkedNotReregistered):
            self.not_reregistered, self.marked_closes_at = True, event.closes_at
            self.closes_sanctioned.add(event.closes_at)
        elif isinstance(event, Reinstated):
            self.not_reregistered, self.marked_closes_at = False, None
