"""The platform as `make run` starts it: each service's database lives in a store process of its own."""
from __future__ import annotations

from pymongo import MongoClient

from pupns_dev.stack import SERVICES, local_mongo_uri


def test_each_service_keeps_its_database_in_its_own_store_and_the_key_store_in_the_main_one(stack, platform):
    cfg, _ = stack
    platform.settled_event_count()
    with MongoClient(cfg.mongo_uri) as main:
        in_main = set(main.list_database_names())
        assert f"{cfg.db_prefix}keys" in in_main
        assert not in_main & {f"{cfg.db_prefix}{db}" for db in cfg.store_ports}
    for db, port in cfg.store_ports.items():
        with MongoClient(local_mongo_uri(port)) as own:
            ours = {name for name in own.list_database_names() if name.startswith(cfg.db_prefix)}
            assert ours <= {f"{cfg.db_prefix}{db}"}, f"{db}'s store holds {ours}"
            if db in SERVICES:  # each service set up its database (indexes) when it started
                assert ours == {f"{cfg.db_prefix}{db}"}
    with MongoClient(cfg.mongo_uri_of("identity")) as identity:
        assert identity[f"{cfg.db_prefix}identity"]["events"].estimated_document_count() > 0  # the demo's roster
