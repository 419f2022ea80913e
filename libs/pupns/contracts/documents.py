"""Contracts of the documents service's events that other services consume (identity: the stamping timeline).

Every attempt to stamp a submission's Surat Pernyataan with e-Meterai is an event on the statement's stream
(`statement-{FormSubmitted event id}`); identity notes one timeline entry per statement and state.
"""
from __future__ import annotations

import dataclasses

from marshmallow import Schema, fields

from pupns.contracts import Contract

SHA256_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class StampRequestedData(Schema):
    statement_id = fields.String(required=True)
    sha256 = fields.String(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StampRequested(Contract):
    """The statement was issued and waits for its e-Meterai."""

    PRODUCER = "documents"
    TYPE = "StampRequested"
    Schema = StampRequestedData
    EXAMPLE = {"statement_id": "5d1c0b6e0f3a4b2c9e7d8a6f4b3c2d1e", "sha256": SHA256_EXAMPLE}

    statement_id: str
    sha256: str


class StampFailedData(Schema):
    statement_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    error = fields.String(required=True)
    retryable = fields.Boolean(required=True)
    retry_in_seconds = fields.Float(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StampFailed(Contract):
    """One stamping attempt failed; the next follows after `retry_in_seconds` (a refusal: `retryable` False)."""

    PRODUCER = "documents"
    TYPE = "StampFailed"
    Schema = StampFailedData
    EXAMPLE = {"statement_id": "5d1c0b6e0f3a4b2c9e7d8a6f4b3c2d1e", "attempt": 1,
               "error": "unavailable: HTTP 503", "retryable": True, "retry_in_seconds": 2.0}

    statement_id: str
    attempt: int
    error: str
    retryable: bool
    retry_in_seconds: float


class StatementStampedData(Schema):
    statement_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    stamp_serial = fields.String(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatementStamped(Contract):
    """The provider stamped the statement (final); the stamped PDF has SHA-256 `sha256`."""

    PRODUCER = "documents"
    TYPE = "StatementStamped"
    Schema = StatementStampedData
    EXAMPLE = {"statement_id": "5d1c0b6e0f3a4b2c9e7d8a6f4b3c2d1e", "attempt": 2, "stamp_serial": "EMT-0001",
               "sha256": SHA256_EXAMPLE, "size": 20480}

    statement_id: str
    attempt: int
    stamp_serial: str
    sha256: str
    size: int
