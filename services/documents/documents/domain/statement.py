"""Rules of the submission statement ('Surat Pernyataan') and its e-Meterai stamping (no framework code).

The submission time is what counts: stamping happens after the fact, is retried until it succeeds (forever
if needed), and never touches or delays the submission itself.
"""
from __future__ import annotations

import hashlib
import os

from pupns.eventstore import canonical_json

STREAM_PREFIX = "statement-"
REQUESTED, RETRYING, STAMPED = "requested", "retrying", "stamped"

NOTES = {
    REQUESTED: "Surat pernyataan sedang dibubuhi e-Meterai.",
    RETRYING: ("Menunggu e-Meterai (layanan e-Meterai sedang gangguan, akan dicoba ulang otomatis). "
               "Data Anda tetap tercatat terkirim pada waktu pengiriman."),
    STAMPED: "Surat pernyataan telah dibubuhi e-Meterai.",
}


def stream_of(statement_id: str) -> str:
    """One statement per submission: keyed by the id of the forms.FormSubmitted event."""
    return f"{STREAM_PREFIX}{statement_id}"


def data_digest(sections: dict | None) -> str:
    """SHA-256 of the submitted sections (canonical JSON): binds the statement to the exact data sent."""
    return hashlib.sha256(canonical_json(sections or {}).encode()).hexdigest()


def retry_delay(attempt: int, retryable: bool = True) -> float:
    """Seconds before the next try after `attempt` failures: exponential from the base, capped.

    A refusal by the provider (4xx, `retryable` False) waits the cap at once: it needs an operator, not a
    quick retry, but it is still tried again so the stamp arrives once the cause is fixed.
    """
    base = float(os.environ.get("PUPNS_METERAI_RETRY_BASE", "2"))
    cap = float(os.environ.get("PUPNS_METERAI_RETRY_MAX", "300"))
    if not retryable:
        return cap
    return min(cap, base * 2 ** max(0, attempt - 1))


def state_after(event_type: str, current: str | None) -> str | None:
    """The statement's state after one of its events (a stamp is final)."""
    if current == STAMPED:
        return STAMPED
    return {"StampRequested": REQUESTED, "StampFailed": RETRYING, "StatementStamped": STAMPED}.get(event_type,
                                                                                                  current)
