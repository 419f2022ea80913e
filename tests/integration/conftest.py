"""Fixtures shared by integration tests (real RabbitMQ vhost per test, real SecantusDB)."""
from __future__ import annotations

import pytest

from identity.service import IdentityService
from tests.rpc import signed_proxy


@pytest.fixture
def identity(runner_factory, rabbit_config, db_prefix):
    """The identity service alone, running in this test's vhost and databases; yields an RPC proxy."""
    runner = runner_factory(rabbit_config, IdentityService)
    runner.start()
    with signed_proxy("identity", rabbit_config, timeout=60) as proxy:
        yield proxy
