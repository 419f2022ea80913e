"""Shared fixtures: a real SecantusDB process for the session, isolated databases per test."""
from __future__ import annotations

import os

import tests.hermetic  # noqa: F401  (first: drops the developer's PUPNS_* settings before anything reads them)

if not os.environ.get("PUPNS_TEST_NO_EVENTLET"):
    # nameko's containers need a green world; e2e tests (browser, HTTP only) run without it.
    import warnings

    warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

import uuid

import pytest
from pymongo import MongoClient

from pupns.eventstore import EventStore
from pupns_dev.processes import free_port, start_secantus, stop
from pupns_dev.stack import local_mongo_uri


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    """A SecantusDB server (MongoDB wire protocol) in memory for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("secantus") / "secantus.log"
    proc = start_secantus(port, ":memory:", log)
    uri = local_mongo_uri(port)
    previous = os.environ.get("PUPNS_MONGO_URI")
    os.environ["PUPNS_MONGO_URI"] = uri
    yield uri
    stop(proc)
    if previous is None:
        os.environ.pop("PUPNS_MONGO_URI", None)
    else:
        os.environ["PUPNS_MONGO_URI"] = previous


@pytest.fixture
def db_prefix(mongo_uri, monkeypatch):
    """A database prefix unique to this test, so services started by it see fresh databases."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    monkeypatch.setenv("PUPNS_DB_PREFIX", prefix)
    return prefix


@pytest.fixture
def mongo_client(mongo_uri):
    client = MongoClient(mongo_uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def store_for(mongo_client, db_prefix):
    """Open the event store of a named service in this test's databases."""

    def open_store(service: str) -> EventStore:
        store = EventStore(mongo_client[db_prefix + service], service)
        store.ensure_indexes()
        return store

    return open_store
