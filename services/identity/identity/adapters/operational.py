"""Operational state that is not history (no events): the login throttle, staff logins, staged roster uploads,
and the reminder lookups on the event log itself."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from pupns.eventstore import EventStore

THROTTLE = "login_throttle"
LOGINS = "staff_logins"  # last successful login per staff account
INPUTS = "job_inputs"


class LoginThrottle:
    """Consecutive failures and lock-out per throttle key."""

    def __init__(self, db: Database):
        self.col = db[THROTTLE]

    def get(self, key: str) -> dict:
        return self.col.find_one({"_id": key}) or {}

    def set(self, key: str, failures: int, at: datetime, locked_until: datetime | None) -> None:
        self.col.update_one({"_id": key}, {"$set": {"failures": failures, "last_failure_at": at,
                                                    "locked_until": locked_until}}, upsert=True)

    def reset(self, key: str) -> None:
        self.col.delete_one({"_id": key})


class StaffLogins:
    """When each staff account last logged in."""

    def __init__(self, db: Database):
        self.col = db[LOGINS]

    def note(self, username: str) -> None:
        self.col.update_one({"_id": username}, {"$set": {"at": datetime.now(UTC).isoformat()}}, upsert=True)

    def last(self, usernames: list[str]) -> dict[str, str | None]:
        return {d["_id"]: d.get("at") for d in self.col.find({"_id": {"$in": usernames}})}


class StagedUploads:
    """Chunks of an uploaded roster CSV, kept until the import job takes them."""

    def __init__(self, db: Database):
        self.col = db[INPUTS]

    def stage(self, chunk_id: str, doc: dict) -> None:
        self.col.replace_one({"_id": chunk_id}, {**doc, "staged_at": datetime.now(UTC)}, upsert=True)

    def staged(self, upload_id: str) -> list[dict]:
        """{n, rows} of every staged chunk, in order."""
        return list(self.col.find({"upload_id": upload_id}, {"n": 1, "rows": 1}).sort("n", 1))

    def chunk(self, chunk_id: str) -> dict | None:
        return self.col.find_one({"_id": chunk_id})

    def drop(self, upload_id: str) -> int:
        """Delete every chunk of the upload; returns how many."""
        return self.col.delete_many({"upload_id": upload_id}).deleted_count

    def older_than(self, age: timedelta, keep: list[str]) -> list[str]:
        """Uploads with a chunk staged longer ago than `age`, but for those in `keep`."""
        return self.col.distinct("upload_id", {"staged_at": {"$lt": datetime.now(UTC) - age},
                                               "upload_id": {"$nin": keep}})


def stream_versions(store: EventStore, streams: list[str]) -> dict[str, int]:
    """Current versions of these streams (absent: never written)."""
    return {stream: head["version"] for stream, head in store.stream_heads(streams).items()}


def streams_with(store: EventStore, streams: list[str], type_name: str, data: dict) -> set[str]:
    """Which of these streams already hold an event of this type with these data values."""
    query = {"stream": {"$in": streams}, "type": type_name, **{f"data.{k}": v for k, v in data.items()}}
    return {e["stream"] for e in store.events.find(query, {"stream": 1})}
