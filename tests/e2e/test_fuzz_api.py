"""Property-based fuzzing of the public API from its own OpenAPI document (issue 11 item 7), against the live stack:
schemathesis generates requests for every documented operation, as an anonymous client and as a PNS; no answer may
be a server error, and every answer must match what the document says (status codes, content types, schemas)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e
EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(stack):
    cfg, _ = stack
    return schemathesis.openapi.from_url(f"{cfg.edge_url}/api/v1/openapi.json")


@pytest.fixture(scope="module")
def fuzzed_pns(platform):
    """A PNS of its own for the fuzzer (it may save and submit nonsense into that one form)."""
    return platform.confirmed_pns(platform.take_row(lambda r: "Guru" not in r["jabatan"]))


def fuzz(operation, headers: dict) -> None:
    """Up to EXAMPLES generated requests for one operation; raises on the first that breaks a check."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
    run()


def test_every_operation_answers_within_its_documented_contract(api_schema, fuzzed_pns):
    failures = []
    for found in api_schema.get_all_operations():
        operation = found.ok()
        headers = dict(fuzzed_pns) if operation.path.startswith("/api/v1/me") else {}
        try:
            fuzz(operation, headers)
        except Exception as exc:  # noqa: BLE001 - every operation's failure is collected, then reported together
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
