"""Typed contracts for the events one service consumes from another, and the one way to consume them.

A contract is a frozen dataclass: the envelope (`event_id`, `nip`, `instansi_kode`, `occurred_at`) plus the
fields of `data` the producer promises, checked by a marshmallow schema. The producer owns it
(`pupns.contracts.<producer>`); its JSON Schema is `schemas/contracts/<producer>.<Type>.v<N>.json`.
Readers are tolerant of fields added later (unknown keys are ignored) and strict about what they rely on.
A message of an unknown schema version or the wrong shape is never dropped silently and never retried forever:
`consume` keeps it in the service's `dead_letters` collection, logs an error and counts it.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import pkgutil
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError
from prometheus_client import Counter

from pupns.dependencies import consume_once
from pupns.eventstore import EventStore, utcnow_iso

log = logging.getLogger(__name__)
C = TypeVar("C", bound="Contract")
DEAD_LETTERS = "dead_letters"
DEAD_LETTERED = Counter("pupns_dead_letters_total", "Consumed messages set aside: unknown version or wrong shape",
                        ("service", "handler"))


class ContractViolation(Exception):
    """A consumed message does not match the contract its consumer reads it with."""

    def __init__(self, type_name: str, reason: str):
        self.type_name, self.reason = type_name, reason
        super().__init__(f"{type_name}: {reason}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Contract:
    """Base of every cross-service event contract."""

    PRODUCER: ClassVar[str]
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    Schema: ClassVar[type[Schema]]
    EXAMPLE: ClassVar[dict[str, Any]]  # a valid `data`: documents the contract, checked against the JSON Schema

    event_id: str
    nip: str | None = None
    instansi_kode: str | None = None
    occurred_at: str | None = None

    @classmethod
    def schema_file(cls) -> str:
        """The JSON Schema's file name under schemas/contracts/."""
        return f"{cls.PRODUCER}.{cls.TYPE}.v{cls.VERSION}.json"

    @classmethod
    def from_message(cls: type[C], message: dict) -> C:
        """The typed event of an internal message; ContractViolation when it is not this contract's."""
        if message.get("type") != cls.TYPE:
            raise ContractViolation(str(message.get("type")), f"expected {cls.TYPE}")
        version = message.get("schema_version", 1)
        if version != cls.VERSION:
            raise ContractViolation(cls.TYPE, f"unknown schema_version {version!r} (reader knows {cls.VERSION})")
        try:
            data = _reader(cls.Schema).load(message.get("data") or {})
        except ValidationError as exc:
            raise ContractViolation(cls.TYPE, f"wrong shape: {exc.messages}") from exc
        return cls(event_id=message["event_id"], nip=message.get("nip"), instansi_kode=message.get("instansi_kode"),
                   occurred_at=message.get("occurred_at"), **data)

    def data(self) -> dict[str, Any]:
        """The contract's `data` fields as a dict (without the envelope)."""
        envelope = {f.name for f in dataclasses.fields(Contract)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in envelope}


@functools.cache
def _reader(schema: type[Schema]) -> Schema:
    """One reading instance per contract schema: building one binds every field anew (0.1 ms a message here), and
    a schema instance loads any number of messages, from any thread."""
    return schema(unknown=EXCLUDE)


def consume(store: EventStore, handler: str, message: dict, contract: type[C],
            apply: Callable[[C, str], None]) -> bool:
    """Read `message` as `contract` and run `apply(event, idempotency_key)` once (see `consume_once`).

    False when it had been applied before or was set aside as a dead letter.
    """
    try:
        event = contract.from_message(message)
    except ContractViolation as exc:
        dead_letter(store, handler, message, exc.reason)
        return False
    return consume_once(store, handler, message, lambda key: apply(event, key))


def dead_letter(store: EventStore, handler: str, message: dict, reason: str) -> None:
    """Keep a message no contract can read, once per handler, for an operator to look at (`pupns deadletters`)."""
    log.error("dead letter in %s.%s: %s (event %s)", store.service, handler, reason, message.get("event_id"))
    DEAD_LETTERED.labels(store.service, handler).inc()
    store.db[DEAD_LETTERS].update_one(
        {"_id": f"{handler}:{message.get('event_id')}"},
        {"$setOnInsert": {"handler": handler, "reason": reason, "message": message, "at": utcnow_iso()}},
        upsert=True)


def all_contracts() -> list[type[Contract]]:
    """Every contract of every producer module in this package."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        found += [obj for obj in vars(loaded).values() if isinstance(obj, type) and issubclass(obj, Contract)
                  and obj is not Contract and obj.__module__ == loaded.__name__]
    return found


def consumed_types(producer: str) -> frozenset[str]:
    """The event types of `producer` that another service consumes: every consumer reads through a contract, so
    an event of any other type has nobody to go to on the broker."""
    return frozenset(contract.TYPE for contract in all_contracts() if contract.PRODUCER == producer)
