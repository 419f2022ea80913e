"""Fixtures shared by integration tests (real RabbitMQ vhost per test, real SecantusDB)."""
from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from identity.service import IdentityService


@pytest.fixture
def identity(runner_factory, rabbit_config, db_prefix):
    """The identity service alone, running in this test's vhost and databases; yields an RPC proxy."""
    runner = runner_factory(rabbit_config, IdentityService)
    runner.start()
    with ServiceRpcProxy("identity", rabbit_config, timeout=60) as proxy:
        yield proxy
