"""The whole platform, started once per e2e session on free ports, fresh vhost and memory store."""
from __future__ import annotations

import csv
import secrets
import uuid

import pytest
import requests

from pupns_dev.demo import seed_demo
from pupns_dev.processes import free_port
from pupns_dev.stack import Stack, StackConfig, delete_vhost


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """A running PUPNS with a demo roster, verifiers and an open campaign."""
    cfg = StackConfig(
        var=tmp_path_factory.mktemp("stack"), vhost=f"e2e-{uuid.uuid4().hex[:8]}",
        mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(), console_port=free_port(),
        storage=":memory:", jwt_keys=f"e2e:{secrets.token_urlsafe(32)}", admin_password=secrets.token_urlsafe(12))
    running = Stack(cfg)
    running.start(progress=lambda msg: None)
    try:
        demo = seed_demo(cfg, roster_size=60, seed=7, progress=lambda msg: None)
        with demo["roster"].open(newline="", encoding="utf-8") as fh:
            demo["rows"] = list(csv.DictReader(fh))
        yield cfg, demo
    finally:
        running.stop()
        delete_vhost(cfg.vhost)


@pytest.fixture
def api(stack):
    """A requests session bound to the edge's base URL."""
    cfg, _ = stack

    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 30)
            return super().request(method, cfg.edge_url + url, *args, **kwargs)

    with Api() as session:
        yield session
