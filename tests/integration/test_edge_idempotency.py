"""Idempotency-Key and the queue ledger against the edge's own MongoDB database."""
from __future__ import annotations

from werkzeug.test import Client

from edge.app import create_app
from edge.settings import Settings
from edge.store import MongoEdgeStore

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


def test_queue_ledger_is_global_and_fifo(mongo_uri, db_prefix):
    store = MongoEdgeStore(mongo_uri, db_prefix + "edge")
    other_replica = MongoEdgeStore(mongo_uri, db_prefix + "edge")
    assert [store.issue(), other_replica.issue(), store.issue()] == [1, 2, 3]
    assert store.queue_state() == (3, 0)
    assert store.advance(0, 2) and not other_replica.advance(0, 1)  # the stale read loses
    assert other_replica.queue_state() == (3, 2)
