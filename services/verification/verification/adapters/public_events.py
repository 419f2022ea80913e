"""Translate stored verification events into the versioned public events of SPEC §5.

The default copy of every public event carries no personal field (SPEC §7). A subscriber granted some fields
(`pupns subscriber create --grant FIELD`, recorded by `set_subscriber_grants`) gets its own copy of
`pns.data_verified.v1` under the routing key `pns.data_verified.v1.granted.<name>`: the default data plus exactly
its granted fields, opened in clear here, when the relay publishes (an erased PNS's granted fields are null).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from pupns.dependencies import Store
from pupns.personal import PERSONAL_FIELDS, FieldCodec, opened
from pupns.personal.provider import PersonalData, default_codec
from pupns.redaction import without
from pupns.relay import public_event_id
from verification.adapters.projections import Projector, ReadModels
from verification.settings import Settings

DATA_VERIFIED = "pns.data_verified.v1"


def granted_key(name: str) -> str:
    """The routing key of a granted subscriber's own copy (pupns_cli.grants.granted_key names the same)."""
    return f"{DATA_VERIFIED}.granted.{name}"


def public_data(doc: dict) -> tuple[str, dict] | None:
    """The default public event of a stored event (no personal field), or None when it has none."""
    data = doc.get("data") or {}
    if doc["type"] == "RegistrationConfirmed":
        return "pns.registered.v1", {"registration_number": data.get("registration_number")}
    if doc["type"] == "SubmissionApproved":
        return DATA_VERIFIED, {"sections": without(data.get("sections") or {}, PERSONAL_FIELDS)}
    if doc["type"] == "SubmissionReturned":
        return "pns.returned.v1", {"sections": sorted((data.get("notes") or {}).keys())}
    return None


def granted_data(codec: FieldCodec, doc: dict, fields: list[str]) -> dict:
    """A granted subscriber's `data`: the default plus exactly `fields`, opened (null when erased)."""
    kept = without(doc["data"].get("sections") or {}, PERSONAL_FIELDS - frozenset(fields))
    sections, _ = opened(codec, doc["nip"], kept)  # only the granted fields are still sealed here
    return {"sections": sections}


def payload(doc: dict, routing_key: str, event_type: str, data: dict) -> dict:
    return {"event_id": public_event_id(doc["_id"], routing_key), "type": event_type,
            "occurred_at": doc["meta"]["occurred_at"], "nip": doc["nip"], "instansi_kode": doc["instansi_kode"],
            "data": data}


class PublicEvents:
    """The outbox relay's translator (it runs in the relay's thread): the default copy of each public event, and
    for an approved submission one copy per granted subscriber. Grants are cached for `ttl` seconds."""

    def __init__(self, grants: Callable[[], dict[str, list[str]]], codec: Callable[[], FieldCodec], ttl: float,
                 clock: Callable[[], float] = time.monotonic):
        self._load, self._codec, self.ttl, self.clock = grants, codec, ttl, clock
        self._grants: dict[str, list[str]] = {}
        self._expires = float("-inf")

    def grants(self) -> dict[str, list[str]]:
        """{subscriber: granted fields}, at most `ttl` seconds old (a change reaches the relay within that)."""
        if self.clock() >= self._expires:
            self._grants, self._expires = self._load(), self.clock() + self.ttl
        return self._grants

    def __call__(self, doc: dict) -> Iterator[tuple[str, dict]]:
        translated = public_data(doc)
        if translated is None:
            return
        routing_key, data = translated
        yield routing_key, payload(doc, routing_key, routing_key, data)
        if routing_key != DATA_VERIFIED:
            return
        for name, fields in self.grants().items():
            key = granted_key(name)
            yield key, payload(doc, key, DATA_VERIFIED, granted_data(self._codec(), doc, fields))


class PublishingStore(Store):
    """verification's event store, whose relay publishes with `PublicEvents` over this store's grants and the
    service's `PersonalData` codec."""

    def __init__(self) -> None:
        super().__init__(setup_hook=self._prepare)

    def _prepare(self, store) -> None:
        Projector.ensure_indexes(store.db)
        # Called before the relay is built: it is handed this translator (settings as the process starts).
        self.translator = PublicEvents(ReadModels(store.db).subscriber_grants, self._codec,
                                       Settings.from_env().grants_cache_seconds)

    def _codec(self) -> FieldCodec:
        for dependency in self.container.dependencies:
            if isinstance(dependency, PersonalData) and dependency.codec is not None:
                return dependency.codec
        return default_codec()
