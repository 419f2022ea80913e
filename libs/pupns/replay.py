"""Rebuild a service's read models from its event log (one command: `pupns replay`)."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

from pymongo.database import Database

from pupns.eventstore import EventStore, canonical_json
from pupns.projector import Projector


def rebuild(store: EventStore, projector: Projector,
            progress: Callable[[int, int], None] | None = None, batch: int = 1000, target: Database | None = None,
            total: int | None = None) -> int:
    """Drop the projector's collections (in `target`, the store's own database by default) and re-apply every
    event of the store in global order. `total`: the log's size when the caller has counted it already."""
    for name in projector.collections:
        (target if target is not None else store.db).drop_collection(name)
    if total is None:  # only for the progress bar: counting is a scan of its own, done once
        total = store.count() if progress else 0
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


def checksums(db: Database, collections: tuple[str, ...]) -> dict[str, dict]:
    """{collection: {count, sha256}} over every document in _id order: equal content, equal checksum."""
    found = {}
    for name in collections:
        digest, count = hashlib.sha256(), 0
        for doc in db[name].find().sort("_id", 1):
            digest.update(canonical_json(doc).encode())
            count += 1
        found[name] = {"count": count, "sha256": digest.hexdigest()}
    return found


def check(store: EventStore, make_projector: Callable[[Database], Projector],
          progress: Callable[[int, int], None] | None = None, total: int | None = None) -> dict:
    """Replay the log into a scratch database and compare its read models with the live ones, replacing nothing:
    {equal, collections: {name: {live, replayed}}, differ: [names]}."""
    scratch = store.db.client[f"{store.db.name}_check_{uuid.uuid4().hex[:8]}"]
    try:
        projector = make_projector(scratch)
        rebuild(store, projector, progress, target=scratch, total=total)
        live, replayed = checksums(store.db, projector.collections), checksums(scratch, projector.collections)
    finally:
        store.db.client.drop_database(scratch.name)
    differ = [name for name in live if live[name] != replayed[name]]
    return {"equal": not differ, "differ": differ,
            "collections": {name: {"live": live[name], "replayed": replayed[name]} for name in live}}


def consumed_out_of_order(store: EventStore) -> list[dict]:
    """Consumed events applied after a later event of the same stream, per consumer: [{handler, stream, version,
    after}]. Read from the idempotency records, which keep the source of each consumed event and when it was
    applied (ties in the same millisecond count as in order)."""
    last: dict[tuple[str, str], tuple[str, int]] = {}
    found = []
    for doc in store.applied.find({"source.stream": {"$exists": True}}).sort([("at", 1), ("_id", 1)]):
        handler, stream, version = doc["_id"].rsplit(":", 1)[0], doc["source"]["stream"], doc["source"]["version"]
        seen = last.get((handler, stream))
        if seen and version is not None and version < seen[1] and doc["at"] > seen[0]:
            found.append({"handler": handler, "stream": stream, "version": version, "after": seen[1]})
        if not seen or (version or 0) > seen[1]:
            last[(handler, stream)] = (doc["at"], version or 0)
    return found

