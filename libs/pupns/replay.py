"""Rebuild a service's read models from its event log (one command: `pupns replay`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pymongo.client_session import ClientSession
from pymongo.database import Database

from pupns.eventstore import EventStore


class Projector(Protocol):
    """Something that keeps read-model collections in step with events."""

    collections: tuple[str, ...]

    def apply(self, docs: list[dict], session: ClientSession | None) -> None: ...


def rebuild(store: EventStore, projector: Projector,
            progress: Callable[[int, int], None] | None = None, batch: int = 1000) -> int:
    """Drop the projector's collections and re-apply every event in global order."""
    for name in projector.collections:
        store.db.drop_collection(name)
    total = store.count()
    done = 0
    page: list[dict] = []
    for doc in store.iterate_all(batch):
        page.append(doc)
        if len(page) >= batch:
            projector.apply(page, None)
            done += len(page)
            page = []
            if progress:
                progress(done, total)
    if page:
        projector.apply(page, None)
        done += len(page)
    if progress:
        progress(done, total)
    return done


class TypeDispatchProjector:
    """A projector that routes each event to `_on_<EventType>(doc, session)` when defined."""

    collections: tuple[str, ...] = ()

    def __init__(self, db: Database):
        self.db = db

    def apply(self, docs: list[dict], session: ClientSession | None) -> None:
        for doc in docs:
            handler = getattr(self, f"_on_{doc['type']}", None)
            if handler:
                handler(doc, session)
