"""Every event the documents service stores: frozen dataclasses, the class name is the stored type."""
from __future__ import annotations

from dataclasses import dataclass

from pupns.aggregate import DomainEvent


@dataclass(frozen=True)
class ReceiptIssued(DomainEvent):
    """A registration's receipt PDF was rendered and stored (stream `receipt-{registration_number}`)."""

    registration_number: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DocumentUploaded(DomainEvent):
    """A PNS's file passed the upload rules and was stored (stream `document-{document_id}`).

    Version 2 (issue 13): `filename` is sealed with the PNS's data key; `sha256` is still of the clear bytes."""

    SCHEMA_VERSION = 2

    document_id: str
    sha256: str
    size: int
    content_type: str
    kind: str
    filename: str


@dataclass(frozen=True)
class StatementIssued(DomainEvent):
    """A submission's Surat Pernyataan was rendered, bound to the submitted data by `data_sha256`."""

    statement_id: str
    submitted_at: str | None
    data_sha256: str
    sha256: str
    size: int


@dataclass(frozen=True)
class StampRequested(DomainEvent):
    """The statement waits for its e-Meterai (public: identity shows it on the PNS's timeline)."""

    statement_id: str
    sha256: str


@dataclass(frozen=True)
class StampFailed(DomainEvent):
    """One stamping attempt failed; the next one follows after `retry_in_seconds` (public)."""

    statement_id: str
    attempt: int
    error: str
    retryable: bool
    retry_in_seconds: float


@dataclass(frozen=True)
class StatementStamped(DomainEvent):
    """The provider stamped the statement; the stamped PDF is stored under `sha256` (public)."""

    statement_id: str
    attempt: int
    stamp_serial: str
    sha256: str
    size: int


@dataclass(frozen=True)
class StampAbandoned(DomainEvent):
    """The statement will not be stamped: its owner's personal data was erased (final, private)."""

    statement_id: str
    reason: str
