"""Rate limits shared by edge replicas through the edge's own MongoDB database (a real SecantusDB)."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from werkzeug.test import Client

from edge.http.app import EdgeApp
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore, MongoEdgeStore
from edge.surge.ratelimit import Limiter
from pupns import config
from tests.unit.test_edge_errors import FakeBackend, bearer

WINDOW_START = 1_700_000_000.0
EXPIRES = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def replica(mongo_uri: str, db_prefix: str, backend: FakeBackend, now: float, **limits) -> Client:
    """One edge replica: its own store connection and limiter, the shared edge database, a frozen wall clock."""
    settings = Settings(background=False, rate_window=10, **limits)
    store = MongoEdgeStore(mongo_uri, db_prefix + "edge")
    limiter = Limiter(settings, store, wall=lambda: now)
    app = EdgeApp(backend, store, settings, config.amqp_uri(), mongo_uri, limiter=limiter)
    return Client(app), app


@pytest.fixture(params=["mongo", "memory"])
def two_stores(request, mongo_uri, db_prefix):
    """Two replicas' connections to one edge store: the MongoDB adapter and its in-memory twin."""
    if request.param == "memory":
        store = MemoryEdgeStore()
        return store, store
    return MongoEdgeStore(mongo_uri, db_prefix + "edge"), MongoEdgeStore(mongo_uri, db_prefix + "edge")


def test_hits_add_up_per_key_and_window_and_spent_keys_are_found(two_stores):
    store, other = two_stores
    store.add_hits("u:10", {"a": 3, "b": 1}, EXPIRES)
    other.add_hits("u:10", {"a": 2, "c": 5}, EXPIRES)
    other.add_hits("u:20", {"a": 9}, EXPIRES)
    other.add_hits("l:10", {"a": 9}, EXPIRES)
    other.add_hits("u:10", {}, EXPIRES)
    assert store.at_limit("u:10", 5) == {"a", "c"}
    assert store.at_limit("u:10", 6) == set()
    assert other.at_limit("u:20", 5) == {"a"} and other.at_limit("u:30", 1) == set()


def test_rate_windows_are_a_document_per_writer_with_a_ttl_and_a_window_index(mongo_uri, db_prefix):
    store = MongoEdgeStore(mongo_uri, db_prefix + "edge")
    store.add_hits("u:10", {"a": 3}, EXPIRES)
    store.add_hits("u:10", {"a": 2, "b": 1}, EXPIRES)
    (doc,) = store.rate_windows.find({"w": "u:10"})
    assert (doc["_id"], json.loads(doc["c"]), doc["expires_at"]) == (f"u:10|{store.writer}", {"a": 5, "b": 1},
                                                                      EXPIRES)
    indexes = {tuple(spec["key"].items()): spec for spec in store.rate_windows.list_indexes()}
    assert indexes[(("expires_at", 1),)]["expireAfterSeconds"] == 0
    assert (("w", 1),) in indexes


def test_concurrent_first_hits_on_one_key_from_many_replicas_all_count(mongo_uri, db_prefix):
    stores = [MongoEdgeStore(mongo_uri, db_prefix + "edge") for _ in range(6)]
    rounds = 10
    start = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def replica_syncs(store: MongoEdgeStore) -> None:
        try:
            for i in range(rounds):
                start.wait(timeout=30)
                store.add_hits("u:10", {f"new-{i}": 2, "shared": 1}, EXPIRES)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=replica_syncs, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    every = {"shared", *(f"new-{i}" for i in range(rounds))}
    assert stores[0].at_limit("u:10", 2 * len(stores)) == every  # new-i: 2 from each replica
    assert stores[0].at_limit("u:10", 2 * len(stores) + 1) == {"shared"}
    assert stores[0].at_limit("u:10", rounds * len(stores)) == {"shared"}
    assert stores[0].at_limit("u:10", rounds * len(stores) + 1) == set()


def test_two_replicas_hold_one_user_to_one_shared_allowance_over_http(mongo_uri, db_prefix):
    backend = FakeBackend(**{"identity.get_me": {"nip": "199001012015031001"}})
    limits = {"user_rate": 0.001, "user_burst": 4.0}  # allowance 4 per window; each bucket alone lets 4 through
    (one, one_app), (two, two_app) = (replica(mongo_uri, db_prefix, backend, WINDOW_START + 2, **limits)
                                      for _ in range(2))
    token = bearer()
    assert [one.get("/api/v1/me", headers=token).status_code for _ in range(2)] == [200, 200]
    assert [two.get("/api/v1/me", headers=token).status_code for _ in range(2)] == [200, 200]
    one_app.limiter.sync()
    two_app.limiter.sync()
    one_app.limiter.sync()
    for client in (one, two):  # both buckets still hold two tokens: the shared window refuses
        refused = client.get("/api/v1/me", headers=token)
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "rate_limited" and refused.json["error"]["message"]
        assert refused.headers["Retry-After"] == "8"
    assert [call[1] for call in backend.calls].count("get_me") == 4  # the refused requests reached nothing
    other = one.get("/api/v1/me", headers=bearer(sub="199001012015031002"))
    assert other.status_code == 200


def test_two_replicas_share_the_login_limit_of_a_username(mongo_uri, db_prefix):
    backend = FakeBackend(**{"identity.issue_token": {"access_token": "t"}})
    limits = {"login_rate": 0.001, "login_burst": 3.0}
    (one, one_app), (two, two_app) = (replica(mongo_uri, db_prefix, backend, WINDOW_START + 9.5, **limits)
                                      for _ in range(2))
    body = {"username": "199001012015031001", "password": "rahasia-sekali"}

    def login(app, payload):  # a new client each time: none holds the username's device cookie
        return Client(app).post("/api/v1/auth/token", json=payload)
    assert login(one_app, body).status_code == 200
    assert login(two_app, body).status_code == 200
    assert login(two_app, {**body, "username": " 1990 0101 2015031001 "}).status_code == 200
    two_app.limiter.sync()
    one_app.limiter.sync()
    refused = login(one_app, body)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "1"  # half a second left in the window: at least 1
    assert len(backend.calls) == 3
