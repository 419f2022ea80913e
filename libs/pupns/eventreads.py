"""Reading a service's event log: one stream, stream heads, global order, one PNS, and the outbox's queries.

`EventStore` (pupns.eventstore) takes these from `EventReads`; they need only its `events` and `counters`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pymongo.collection import Collection

from pupns.positions import COUNTER_ID


class EventReads:
    """The read side of an event store: queries on `events` (and the position counter), never a write."""

    events: Collection
    counters: Collection

    def read_stream(self, stream: str, after: int = 0) -> list[dict]:
        """The events of one stream with a version above `after` (all of them by default), in version order."""
        query: dict = {"stream": stream}
        if after:
            query["version"] = {"$gt": after}
        return list(self.events.find(query).sort("version", 1))

    def stream_version(self, stream: str) -> int:
        """The version of a stream's newest event (0: never written)."""
        return self.stream_heads([stream]).get(stream, {}).get("version", 0)

    def stream_heads(self, streams: list[str]) -> dict[str, dict]:
        """{stream: {version, hash, position}} of each stream's newest event (streams never written are absent)."""
        if len(streams) == 1:
            last = self.events.find_one({"stream": streams[0]}, {"version": 1, "hash": 1, "position": 1},
                                        sort=[("version", -1)])
            return {streams[0]: {k: last[k] for k in ("version", "hash", "position")}} if last else {}
        newest = self.events.aggregate([
            {"$match": {"stream": {"$in": streams}}}, {"$sort": {"stream": 1, "version": 1}},
            {"$group": {"_id": "$stream", "version": {"$last": "$version"}, "hash": {"$last": "$hash"},
                        "position": {"$last": "$position"}}}])
        return {doc["_id"]: {k: doc[k] for k in ("version", "hash", "position")} for doc in newest}

    def read_after(self, position: int, limit: int = 1000) -> list[dict]:
        """Events with a global position greater than `position`, in order."""
        return list(self.events.find({"position": {"$gt": position}}).sort("position", 1).limit(limit))

    def iterate_all(self, batch: int = 1000) -> Iterator[dict]:
        """Every event in global order, read `batch` positions at a time (events appended meanwhile included)."""
        # A page is a window of positions, (after, after + batch], up to the counter: the position index answers
        # it alone, so a page costs its own events however long the log is. "The first `batch` after `after`"
        # (read_after) made the local store gather and sort every later event for each page: quadratic, replay
        # fell to 8 % of a raw read at 27,200 events. A gap (an aborted append in an older log) only makes a
        # window short or empty. Each page is read whole before it is handed on: no server cursor stays open
        # while the caller works on it.
        after = seen = 0  # seen: the position of the last event handed on
        while True:
            last = self._last_position()
            while after < last:
                upper = min(after + batch, last)
                page = list(self.events.find({"position": {"$gt": after, "$lte": upper}})
                            .sort("position", 1).batch_size(batch))
                yield from page
                after, seen = upper, page[-1]["position"] if page else seen
            # Past the last event handed on: events appended since, beyond the counter as read (or past a counter
            # that went back), or at a position a block had reserved but not used when its window was read
            # (pupns.positions), are read as before, until there are none.
            later = self.read_after(seen, batch)
            if not later:
                return
            yield from later
            after = seen = later[-1]["position"]

    def _last_position(self) -> int:
        """The counter's value: no event has a greater position (0 on a store never appended to)."""
        return (self.counters.find_one({"_id": COUNTER_ID}) or {}).get("value", 0)

    def read_by_nip(self, nip: str) -> list[dict]:
        """Every event about one PNS, in global order."""
        return list(self.events.find({"nip": nip}).sort("position", 1))

    def unpublished(self, limit: int = 200, occurred_before: str | None = None) -> list[dict]:
        """The outbox: stored events not yet confirmed by the broker (optionally only those older than an
        ISO time, see pupns.relay)."""
        query: dict[str, Any] = {"published": False}
        if occurred_before:
            query["meta.occurred_at"] = {"$lt": occurred_before}
        return list(self.events.find(query).sort("position", 1).limit(limit))

    def origin_events_after(self, origin: str, after: int, limit: int = 200) -> list[dict]:
        """The events one process appended (its outbox origin) above position `after`, in order (pupns.outbox)."""
        return list(self.events.find({"position": {"$gt": after}, "origin": origin}).sort("position", 1).limit(limit))

    def read_ids(self, event_ids: list[str]) -> list[dict]:
        """The stored events among these ids."""
        return list(self.events.find({"_id": {"$in": event_ids}})) if event_ids else []

    def count(self) -> int:
        return self.events.count_documents({})
