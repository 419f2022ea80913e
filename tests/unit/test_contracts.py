"""Every cross-service contract has a JSON Schema in the repository that agrees with its reader."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from pupns.contracts import Contract, ContractViolation, all_contracts, consumed_types

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "contracts"
CONTRACTS = all_contracts()


def message_of(contract: type[Contract], data: dict, **envelope) -> dict:
    return {"event_id": "e-1", "type": contract.TYPE, "schema_version": contract.VERSION, "nip": "199001012015031001",
            "instansi_kode": "4011", "occurred_at": "2026-12-01T00:00:00+00:00", "data": data, **envelope}


def test_contracts_are_found():
    assert any(c.TYPE == "Pinged" for c in CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.PRODUCER}.{c.TYPE}")
def test_each_contract_has_a_json_schema_that_accepts_its_example(contract):
    path = SCHEMAS / contract.schema_file()
    assert path.exists(), f"missing {path}"
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(contract.EXAMPLE, schema)
    required_by_reader = {name for name, field in contract.Schema().fields.items() if field.required}
    assert required_by_reader <= set(schema.get("required", [])), "the JSON Schema must require what the reader needs"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.PRODUCER}.{c.TYPE}")
def test_each_contract_reads_its_example_and_refuses_other_versions(contract):
    event = contract.from_message(message_of(contract, contract.EXAMPLE))
    assert dataclasses.is_dataclass(event) and event.event_id == "e-1" and event.instansi_kode == "4011"
    with pytest.raises(ContractViolation):
        contract.from_message(message_of(contract, contract.EXAMPLE, schema_version=contract.VERSION + 1))
    with pytest.raises(ContractViolation):
        contract.from_message(message_of(contract, contract.EXAMPLE, type="SomethingElse"))


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if any(f.required for f in c.Schema().fields.values())],
                         ids=lambda c: f"{c.PRODUCER}.{c.TYPE}")
def test_each_contract_refuses_a_message_missing_what_it_requires(contract):
    with pytest.raises(ContractViolation):
        contract.from_message(message_of(contract, {}))


def test_every_event_a_service_handles_is_a_contract_of_its_producer_so_its_relay_publishes_it():
    from tests.unit.test_deploy_users import handlers  # the services' @event_handler declarations

    found = handlers()
    assert found
    for consumer, source, event, method in found:
        assert event in consumed_types(source), f"{consumer}.{method} handles {source}.{event}, not a contract"
    assert consumed_types("notifications") == frozenset()  # nobody consumes its events: its relay publishes none
