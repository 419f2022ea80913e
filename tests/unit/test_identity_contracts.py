"""identity keeps the promises of its contracts: the events it stores, as other services receive them, validate
against the JSON Schemas and read back through the contracts."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from identity.domain import events as ev
from pupns.contracts import Contract
from pupns.contracts import identity as contracts
from pupns.relay import internal_message

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "contracts"
NIP = "198503122010011001"
ROW = {"nip": NIP, "nik": "3273011203850001", "nama": "Budi", "instansi_kode": "4011",
       "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo"}

STORED = {
    contracts.RegistrationSubmitted: ev.RegistrationSubmitted(
        registration_number="PUPNS-2026-ABCD2345", nip=NIP, email="budi@example.id", nama="Budi",
        instansi_kode="4011", instansi_nama="Kota Bandung", unit_kerja="Diskominfo", password_hash="$argon2id$x",
        roster=ROW, registered_at="2026-09-01T08:00:00+00:00"),
    contracts.ReminderDue: ev.ReminderDue("2026-12-31T23:59:59+07:00", "7d"),
    contracts.MarkedNotReregistered: ev.MarkedNotReregistered("2026-12-31T23:59:59+07:00"),
    contracts.Reinstated: ev.Reinstated("SK pembatalan", automatic=True),
    contracts.CampaignScheduled: ev.CampaignScheduled("2026-09-01T00:00:00+07:00", "2026-12-31T23:59:59+07:00"),
}


def received(event: ev.DomainEvent) -> dict:
    """The message another service gets for this event once stored (pupns.relay.internal_message)."""
    doc = {"_id": "e-1", "stream": f"x-{NIP}", "version": 1, "type": event.type_name(),
           "schema_version": event.SCHEMA_VERSION, "nip": NIP, "instansi_kode": "4011", "data": event.to_data(),
           "meta": {"occurred_at": "2026-09-01T08:00:00+00:00", "actor": NIP, "role": "pns"}}
    return internal_message(doc)


@pytest.mark.parametrize("contract", list(STORED), ids=lambda c: c.TYPE)
def test_what_identity_stores_is_what_its_contract_promises(contract):
    message = received(STORED[contract])
    schema = json.loads((SCHEMAS / contract.schema_file()).read_text())
    jsonschema.validate(message["data"], schema)
    event = contract.from_message(message)
    assert event.event_id == "e-1" and event.nip == NIP and event.instansi_kode == "4011"


def test_a_registration_reads_back_without_its_password_hash():
    message = received(STORED[contracts.RegistrationSubmitted])
    assert "password_hash" not in message["data"]
    event = contracts.RegistrationSubmitted.from_message(message)
    assert (event.registration_number, event.email, event.roster) == ("PUPNS-2026-ABCD2345", "budi@example.id", ROW)


def test_every_identity_contract_is_checked_here_against_the_event_identity_stores():
    assert all(contract.TYPE == event.type_name() for contract, event in STORED.items())
    assert set(STORED) == {c for c in vars(contracts).values()
                           if isinstance(c, type) and issubclass(c, Contract) and c.__module__ == contracts.__name__}
