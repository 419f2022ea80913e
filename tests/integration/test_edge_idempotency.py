"""Idempotency-Key and the queue ledger against the edge's own MongoDB database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from werkzeug.test import Client

from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MongoEdgeStore

REG = {"nip": "199001012015031001", "nik": "3201014101900001", "email": "a@b.id", "password": "rahasia-sekali"}


class CountingBackend:
    def __init__(self):
        self.calls = 0

    def call(self, service, method, *args, **kwargs):
        self.calls += 1
        return {"registration_number": f"PUPNS-2015-{self.calls:08d}", "receipt_path": "/r"}


def edge(mongo_uri, db_prefix):
    backend = CountingBackend()
    store = MongoEdgeStore(mongo_uri, db_prefix + "edge")
    return Client(create_app(backend=backend, store=store, settings=Settings(background=False))), backend, store


def test_repeat_with_same_key_and_body_replays_the_first_answer(mongo_uri, db_prefix):
    client, backend, _ = edge(mongo_uri, db_prefix)
    first = client.post("/api/v1/registrations", json=REG, headers={"Idempotency-Key": "abc"})
    again = client.post("/api/v1/registrations", json=REG, headers={"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert backend.calls == 1


def test_same_key_with_a_different_body_is_409(mongo_uri, db_prefix):
    client, backend, _ = edge(mongo_uri, db_prefix)
    client.post("/api/v1/registrations", json=REG, headers={"Idempotency-Key": "abc"})
    other = client.post("/api/v1/registrations", json={**REG, "email": "c@d.id"}, headers={"Idempotency-Key": "abc"})
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_conflict"
    assert backend.calls == 1


def test_keys_are_scoped_by_actor_and_rejections_are_replayed_unchanged(mongo_uri, db_prefix):
    client, backend, _ = edge(mongo_uri, db_prefix)
    bad = {**REG, "extra": 1}
    assert client.post("/api/v1/registrations", json=bad, headers={"Idempotency-Key": "k"}).status_code == 422
    assert client.post("/api/v1/registrations", json=bad, headers={"Idempotency-Key": "k"}).status_code == 422
    assert backend.calls == 0


def test_the_waiting_line_is_shared_between_replicas_and_a_silent_part_expires(mongo_uri, db_prefix):
    from edge.surge.admission import Admission
    from edge.surge.tickets import new_ticket

    settings = Settings(background=False, capacity_initial=1, capacity_min=1)
    one = Admission(settings, MongoEdgeStore(mongo_uri, db_prefix + "edge"))
    other = Admission(settings, MongoEdgeStore(mongo_uri, db_prefix + "edge"))
    now = datetime.now(UTC).timestamp()
    first, second, third = (new_ticket(now + i / 10, now + 30) for i in range(3))
    one.line.wait(first, returned=True, now=now)
    other.line.wait(second, returned=False, now=now)
    one.line.wait(third, returned=False, now=now)
    for admission in (one, other, one):
        admission.sync_line()
    assert other.line.processes == 2 and other.line.waiting() == 3
    assert [other.line.ahead(t) for t in (first, second, third)] == [0, 1, 2]
    assert other.line.returning_at_head(1) == 1  # the first holder came back: a place is kept for them
    one.store.line.update_one({"_id": one.process}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(1)}})
    other.sync_line()  # the first replica stopped publishing (it died): its part no longer counts
    assert other.line.waiting() == 1 and other.line.processes == 1
