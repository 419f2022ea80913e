"""One base for every service's read models: events routed to `_on_<EventType>` handlers."""
from __future__ import annotations

from typing import ClassVar

from pymongo.client_session import ClientSession
from pymongo.database import Database


class Projector:
    """Keeps read-model collections in step with stored events; `pupns replay` drops `collections` and re-applies.

    Subclasses add `_on_<EventType>(doc, session)` methods (events without a handler are skipped) and may override
    `ensure_indexes(db)`, the one index-setup hook: the service calls it at start, replay after a rebuild.
    """

    collections: ClassVar[tuple[str, ...]] = ()

    def __init__(self, db: Database):
        self.db = db

    def apply(self, docs: list[dict], session: ClientSession | None = None) -> None:
        """Apply stored events in order (inside the append's transaction when `session` is given)."""
        for doc in docs:
            handler = getattr(self, f"_on_{doc['type']}", None)
            if handler:
                handler(doc, session)

    @classmethod
    def ensure_indexes(cls, db: Database) -> None:
        """Create the read models' indexes (idempotent); nothing by default."""
