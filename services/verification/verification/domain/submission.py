"""The Submission aggregate: a submitted form under review, until approved or returned."""
from __future__ import annotations

from typing import Any

from pupns.aggregate import Aggregate, DomainError, DomainEvent
from verification.domain.events import SubmissionApproved, SubmissionReceived, SubmissionReturned


def submission_stream(nip: str) -> str:
    return f"submission-{nip}"


class Submission(Aggregate):
    """A submitted form under review (stream `submission-{nip}`)."""

    EVENTS = (SubmissionReceived, SubmissionApproved, SubmissionReturned)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.status: str | None = None
        # The instansi is on the stored envelope, not in the events' data: the repository restores it.
        self.instansi_kode: str | None = None
        self.sections: dict[str, Any] = {}

    def receive(self, sections: dict, submitted_at: str, anomalies: list[dict]) -> None:
        """A (re)submission always opens a new review."""
        self.trigger(SubmissionReceived(sections, submitted_at, anomalies))

    def approve(self) -> None:
        self._require_submitted()
        self.trigger(SubmissionApproved(self.sections))

    def return_with_notes(self, notes: dict[str, str]) -> None:
        self._require_submitted()
        self.trigger(SubmissionReturned(notes))

    def _require_submitted(self) -> None:
        if self.status is None:
            raise DomainError("not_found")
        if self.status != "submitted":
            raise DomainError("invalid_state")

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SubmissionReceived):
            self.status, self.sections = "submitted", dict(event.sections)
        elif isinstance(event, SubmissionApproved):
            self.status = "verified"
        elif isinstance(event, SubmissionReturned):
            self.status = "returned"
