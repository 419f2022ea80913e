"""identity keeps the promises of its contracts: the events it stores, as other services receive them, validate
against the JSON Schemas and read back through the contracts."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from identity.domain import events as ev
from pupns.contracts import Contract
from pupns.contracts import identity as contracts
from pupns.personal import FieldCodec, has_personal_fields, open_fields, seal_fields
from pupns.personal.keystore import DataKey
from pupns.relay import internal_message

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "contracts"
NIP = "198503122010011001"
ROW = {"nip": NIP, "nik": "3273011203850001", "nama": "Budi", "instansi_kode": "4011",
       "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo"}


class MemoryKeys:
    """One data key per NIP, in memory: enough for the codec to seal and open as identity's commands do."""

    def __init__(self) -> None:
        self.keys: dict[str, DataKey] = {}

    def data_key(self, nip: str, create: bool = True) -> DataKey:
        if nip not in self.keys:
            self.keys[nip] = DataKey(secrets.token_hex(8), nip, AESGCM(AESGCM.generate_key(bit_length=256)))
        return self.keys[nip]

    def key_by_id(self, nip: str, key_id: str) -> DataKey:
        assert self.keys[nip].key_id == key_id
        return self.keys[nip]


CODEC = FieldCodec(MemoryKeys(), enabled=True)
CLEAR_REGISTRATION = dict(
    registration_number="PUPNS-2026-ABCD2345", nip=NIP, email="budi@example.id", nama="Budi",
    instansi_kode="4011", instansi_nama="Kota Bandung", unit_kerja="Diskominfo", password_hash="$argon2id$x",
    roster=ROW, registered_at="2026-09-01T08:00:00+00:00")

STORED = {
    contracts.RegistrationSubmitted: ev.RegistrationSubmitted(**{
        **CLEAR_REGISTRATION, "email": CODEC.seal(NIP, "budi@example.id"),
        "password_hash": CODEC.seal(NIP, "$argon2id$x"), "roster": seal_fields(CODEC, NIP, ROW)}),
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


def test_a_registration_reads_back_without_its_password_hash_and_opens_for_its_reader():
    message = received(STORED[contracts.RegistrationSubmitted])
    assert "password_hash" not in message["data"] and message["schema_version"] == 2
    assert not has_personal_fields(message["data"]) and "budi@example.id" not in json.dumps(message)
    event = contracts.RegistrationSubmitted.from_message(message)
    assert event.registration_number == "PUPNS-2026-ABCD2345"
    assert (CODEC.open_(NIP, event.email), open_fields(CODEC, NIP, event.roster)) == ("budi@example.id", ROW)


def test_a_version_1_registration_with_clear_values_is_still_read():
    message = received(ev.RegistrationSubmitted(**CLEAR_REGISTRATION))
    message["schema_version"] = 1
    jsonschema.validate(message["data"], json.loads((SCHEMAS / "identity.RegistrationSubmitted.v1.json").read_text()))
    event = contracts.RegistrationSubmitted.from_message(message)
    assert (CODEC.open_(NIP, event.email), open_fields(CODEC, NIP, event.roster)) == ("budi@example.id", ROW)


def test_every_identity_contract_is_checked_here_against_the_event_identity_stores():
    assert all(contract.TYPE == event.type_name() for contract, event in STORED.items())
    assert set(STORED) == {c for c in vars(contracts).values()
                           if isinstance(c, type) and issubclass(c, Contract) and c.__module__ == contracts.__name__}
