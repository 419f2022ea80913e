"""The PnsRecord aggregate: one roster PNS (stream `roster-{nip}`) and the campaign sanction on it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pupns.aggregate import Aggregate, DomainError, DomainEvent


class PnsRecord(Aggregate):
    """A roster entry seen as the PNS's national record: excluded (not_reregistered) or not."""

    @dataclass(frozen=True)
    class RosterEntryImported(DomainEvent):
        row: dict[str, Any]

    @dataclass(frozen=True)
    class RosterEntryCorrected(DomainEvent):
        row: dict[str, Any]
        from_submission: str | None = None

    @dataclass(frozen=True)
    class MarkedNotReregistered(DomainEvent):
        """The campaign closed and this PNS had never submitted a form."""

        closes_at: str

    @dataclass(frozen=True)
    class Reinstated(DomainEvent):
        """An administrator (or an in-window submission that arrived late) lifted the sanction."""

        reason: str
        automatic: bool = False

    @dataclass(frozen=True)
    class NikMismatched(DomainEvent):
        """Someone registering for this NIP gave a wrong NIK (counted by the NIK-guessing rule)."""

        at: str

    EVENTS = (RosterEntryImported, RosterEntryCorrected, MarkedNotReregistered, Reinstated, NikMismatched)

    def __init__(self, id: str) -> None:
        super().__init__(id)
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
        self.trigger(self.MarkedNotReregistered(closes_at))
        return True

    def reinstate(self, reason: str) -> None:
        if not self.on_roster:
            raise DomainError("not_found")
        if not self.not_reregistered:
            raise DomainError("invalid_state")
        self.trigger(self.Reinstated(reason))

    def lift_for_submission(self, submitted_at: str, reason: str) -> bool:
        """A submission made before the close it was sanctioned for lifts the sanction by itself."""
        if not self.not_reregistered or not self.marked_closes_at:
            return False
        if datetime.fromisoformat(submitted_at) > datetime.fromisoformat(self.marked_closes_at):
            return False
        self.trigger(self.Reinstated(reason, automatic=True))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, (PnsRecord.RosterEntryImported, PnsRecord.RosterEntryCorrected)):
            self.instansi_kode = event.row.get("instansi_kode")
        elif isinstance(event, PnsRecord.MarkedNotReregistered):
            self.not_reregistered, self.marked_closes_at = True, event.closes_at
            self.closes_sanctioned.add(event.closes_at)
        elif isinstance(event, PnsRecord.Reinstated):
            self.not_reregistered, self.marked_closes_at = False, None
