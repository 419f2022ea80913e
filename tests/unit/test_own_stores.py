"""Each service's database in a store process of its own (`make run`, the e2e session, the write bench): every
process is told where each database lives, and the key store stays in the main store."""
from __future__ import annotations

from pathlib import Path

from pupns import config
from pupns_dev.run import config_from_env
from pupns_dev.stack import OWN_STORES, SERVICES, Stack, StackConfig, local_mongo_uri, own_store_ports


def test_a_database_with_a_store_of_its_own_is_read_there_and_every_other_in_the_main_one(monkeypatch):
    monkeypatch.setenv("PUPNS_MONGO_URI", "mongodb://main:1/")
    monkeypatch.setenv("PUPNS_MONGO_URI_FORMS", "mongodb://forms:2/")
    assert config.mongo_uri("forms") == "mongodb://forms:2/"
    assert config.mongo_uri("identity") == config.mongo_uri() == "mongodb://main:1/"
    assert config.keystore_mongo_uri() == "mongodb://main:1/"  # the key store is shared: never a service's own


def test_the_stack_tells_every_process_where_each_database_lives(tmp_path):
    cfg = StackConfig(var=tmp_path, mongo_port=27000, store_ports=own_store_ports(range(27001, 27010)))
    assert list(cfg.store_ports) == list(OWN_STORES) and set(SERVICES) < set(OWN_STORES)
    env = cfg.env()
    assert env["PUPNS_MONGO_URI"] == local_mongo_uri(27000)
    assert env["PUPNS_MONGO_URI_IDENTITY"] == local_mongo_uri(27001) == cfg.mongo_uri_of("identity")
    assert env["PUPNS_MONGO_URI_EDGE"] == local_mongo_uri(27006)
    assert cfg.mongo_uri_of("keys") == cfg.mongo_uri
    assert cfg.stores() == {"secantus": 27000, **{f"secantus-{db}": 27001 + i for i, db in enumerate(OWN_STORES)}}
    stack = Stack(cfg)
    assert Path(stack._storage("secantus-forms")) == tmp_path / "data" / "secantus-forms"
    assert Path(stack._storage()) == tmp_path / "data" / "secantus"


def test_a_single_store_stack_sets_no_database_of_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("PUPNS_MONGO_URI_IDENTITY", raising=False)
    cfg = StackConfig(var=tmp_path, mongo_port=27000, storage=":memory:")
    assert not [name for name in cfg.env() if name.startswith("PUPNS_MONGO_URI_")]
    assert cfg.stores() == {"secantus": 27000} and cfg.mongo_uri_of("identity") == cfg.mongo_uri
    assert Stack(cfg)._storage("secantus-identity") == ":memory:"


def test_make_run_gives_each_service_its_store_on_the_ports_after_the_main_one(monkeypatch):
    monkeypatch.setenv("PUPNS_MONGO_PORT", "28000")
    monkeypatch.setenv("PUPNS_ADMIN_PASSWORD", "x")
    monkeypatch.setenv("PUPNS_JWT_KEYS", "k:y")
    monkeypatch.setenv("PUPNS_MASTER_KEY", "k:z")
    cfg = config_from_env()
    assert cfg.store_ports == {db: 28001 + i for i, db in enumerate(OWN_STORES)}
