"""Fixtures shared by integration tests (real RabbitMQ vhost per test, real SecantusDB)."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from identity.service import IdentityService
from tests.rpc import signed_proxy
from verification.service import VerificationService


@pytest.fixture
def identity(runner_factory, rabbit_config, db_prefix):
    """The identity service alone, running in this test's vhost and databases; yields an RPC proxy."""
    runner = runner_factory(rabbit_config, IdentityService)
    runner.start()
    with signed_proxy("identity", rabbit_config, timeout=60) as proxy:
        yield proxy


@pytest.fixture
def staff_edge(identity, runner_factory, rabbit_config, monkeypatch):
    """The edge over real identity and verification services (revocation of staff tokens included)."""
    runner_factory(rabbit_config, VerificationService).start()
    monkeypatch.setenv("PUPNS_AMQP_URI", rabbit_config["AMQP_URI"])
    app = create_app(store=MemoryEdgeStore(), settings=Settings(background=False))
    yield Client(app)
    app.backend.close()
