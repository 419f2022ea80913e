"""The Registration aggregate: a PNS's registration waiting for a verifier's confirmation or rejection."""
from __future__ import annotations

from typing import Any

from pupns.aggregate import Aggregate, DomainError, DomainEvent
from verification.domain.events import RegistrationConfirmed, RegistrationReceived, RegistrationRejected


def registration_stream(nip: str) -> str:
    return f"registration-{nip}"


class Registration(Aggregate):
    """A PNS's registration awaiting a verifier of their instansi (stream `registration-{nip}`)."""

    EVENTS = (RegistrationReceived, RegistrationConfirmed, RegistrationRejected)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.status: str | None = None
        self.registration_number = ""
        self.nama: str | None = None
        self.instansi_kode: str | None = None
        self.roster: dict[str, Any] = {}
        self.email: str | None = None

    def receive(self, event: RegistrationReceived) -> bool:
        """A new registration, or a fresh attempt after a rejection; anything else is a stale repeat."""
        if self.status not in (None, "rejected"):
            return False
        self.trigger(event)
        return True

    def confirm(self) -> None:
        self._require_pending()
        self.trigger(RegistrationConfirmed(self.registration_number, self.nama, self.instansi_kode or "",
                                           self.roster, self.email))

    def reject(self, reason: str) -> None:
        self._require_pending()
        self.trigger(RegistrationRejected(self.registration_number, reason))

    def _require_pending(self) -> None:
        if self.status is None:
            raise DomainError("not_found")
        if self.status != "pending":
            raise DomainError("invalid_state")

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, RegistrationReceived):
            self.status, self.registration_number = "pending", event.registration_number
            self.nama, self.instansi_kode, self.roster = event.nama, event.instansi_kode, dict(event.roster)
            self.email = event.email
        elif isinstance(event, RegistrationConfirmed):
            self.status = "confirmed"
        elif isinstance(event, RegistrationRejected):
            self.status = "rejected"
