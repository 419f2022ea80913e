"""`pupns.contracts.published_types` covers everything read off the broker: every event type a handler listens to and
every stored type a public translation turns into a public event; notifications, with none, publishes nothing."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from pupns.aggregate import DomainEvent
from pupns.contracts import published_types

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "forms", "verification", "documents", "notifications")


def handled() -> set[tuple[str, str]]:
    """(producer, type) of every nameko event handler in the services' code."""
    return {match for path in ROOT.glob("services/**/*.py")
            for match in re.findall(r'event_handler\("([a-z_]+)", "([A-Za-z]+)"', path.read_text())}


def stored_types(service: str) -> set[str]:
    module = importlib.import_module(f"{service}.domain.events")
    return {cls.type_name() for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls is not DomainEvent}


def test_every_handled_event_type_is_published():
    found = handled()
    assert ("identity", "RegistrationSubmitted") in found  # the scan reads the handlers
    for producer, event_type in found:
        assert event_type in published_types(producer), f"{producer}.{event_type} is listened to, never published"


@pytest.mark.parametrize("service,translator", [("identity", "identity.adapters.public_events"),
                                                ("verification", "verification.adapters.public_events")])
def test_every_type_with_a_public_event_is_published(service, translator):
    public_data = importlib.import_module(translator).public_data
    public = {t for t in stored_types(service)
              if public_data({"_id": "e", "type": t, "data": {"reason": "x"}, "meta": {}}) is not None}
    assert public  # the translator makes public events of some of the service's stored types
    assert public <= published_types(service)


def test_notifications_alone_publishes_nothing_and_the_others_every_type():
    for service in SERVICES:
        assert published_types(service) <= stored_types(service), service  # a contract names a stored type
        text = "\n".join(p.read_text() for p in (ROOT / "services" / service / service).rglob("*.py"))
        restricted = f'published_types("{service}")' in text
        # Only notifications, which nothing subscribes to, keeps its events off the broker. The others publish every
        # event: restricting them to their contract types slowed two-replica runs (docs/ARCHITECTURE.md).
        assert restricted == (service == "notifications"), service
    assert published_types("notifications") == frozenset()
