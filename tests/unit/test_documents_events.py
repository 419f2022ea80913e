"""The documents service's typed events: stored names and data keys as before, public ones match their contracts."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from documents.domain import events
from documents.domain.statement import Statement
from pupns.contracts import documents as contracts
from pupns.retry_queue import Backoff

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "contracts"
SHA = "ab" * 32


def stamped_statement() -> Statement:
    statement = Statement("s1")
    statement.issue("199001012015031001", "4011", "2026-12-01T10:00:00+07:00", SHA, SHA, 1000)
    statement.fail("unavailable: HTTP 503", True, Backoff(2, 300))
    statement.fail("rejected: HTTP 403", False, Backoff(2, 300))
    statement.stamp("EMT-1", SHA, 1200)
    return statement


def test_stored_type_names_and_data_keys_are_unchanged():
    keys = {type(e).type_name(): set(e.to_data()) for e in stamped_statement().pending}
    assert keys == {
        "StatementIssued": {"statement_id", "submitted_at", "data_sha256", "sha256", "size"},
        "StampRequested": {"statement_id", "sha256"},
        "StampFailed": {"statement_id", "attempt", "error", "retryable", "retry_in_seconds"},
        "StatementStamped": {"statement_id", "attempt", "stamp_serial", "sha256", "size"},
    }
    assert set(events.DocumentUploaded("d", SHA, 1, "application/pdf", "ijazah", "a.pdf").to_data()) == {
        "document_id", "sha256", "size", "content_type", "kind", "filename"}
    assert set(events.ReceiptIssued("PUPNS-2015-AAAABBBB", SHA, 1).to_data()) == {"registration_number", "sha256",
                                                                                 "size"}


def test_attempts_count_up_and_a_refusal_waits_the_cap():
    failed = [e for e in stamped_statement().pending if isinstance(e, events.StampFailed)]
    assert [(e.attempt, e.retry_in_seconds) for e in failed] == [(1, 2), (2, 300)]
    statement = stamped_statement()
    assert statement.state == "stamped" and statement.attempts == 3


def test_issuing_twice_records_one_statement():
    statement = Statement("s1")
    statement.issue("199001012015031001", "4011", None, SHA, SHA, 1)
    statement.issue("199001012015031001", "4011", None, SHA, SHA, 1)
    assert [e.type_name() for e in statement.pending] == ["StatementIssued", "StampRequested"]


@pytest.mark.parametrize("contract", [contracts.StampRequested, contracts.StampFailed, contracts.StatementStamped])
def test_what_documents_stores_is_what_its_public_contracts_promise(contract):
    stored = next(e for e in stamped_statement().pending if e.type_name() == contract.TYPE)
    message = {"event_id": "s1", "type": contract.TYPE, "schema_version": stored.SCHEMA_VERSION,
               "nip": "199001012015031001", "data": stored.to_data()}
    assert contract.from_message(message).data() == stored.to_data()
    jsonschema.validate(stored.to_data(), json.loads((SCHEMAS / contract.schema_file()).read_text()))


def test_an_erased_statement_is_abandoned_once_and_stays_so():
    statement = Statement("s1")
    statement.issue("199001012015031001", "4011", None, SHA, SHA, 1)
    statement.fail("unavailable: HTTP 503", True, Backoff(2, 300))
    statement.abandon("personal_data_erased")
    statement.abandon("personal_data_erased")
    assert statement.state == "abandoned"
    assert [e.type_name() for e in statement.pending][-1:] == ["StampAbandoned"]
    assert sum(isinstance(e, events.StampAbandoned) for e in statement.pending) == 1
    stamped = stamped_statement()
    stamped.abandon("personal_data_erased")
    assert stamped.state == "stamped" and not any(isinstance(e, events.StampAbandoned) for e in stamped.pending)


def test_an_uploaded_documents_sealed_file_name_is_version_2():
    assert events.DocumentUploaded.SCHEMA_VERSION == 2
