"""`pupns audit checkpoint --out FILE` and `pupns audit verify --checkpoint FILE`: signed checkpoints of every
service's streams, kept outside the database (pupns.checkpoint)."""
from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pupns import checkpoint, config
from pupns.eventstore import EventStore


@contextmanager
def stores(services: list[str]) -> Iterator[list[EventStore]]:
    """Each named service's event store, read directly (the operators' database user)."""
    from pymongo import MongoClient

    clients = {service: MongoClient(config.mongo_uri(service), tz_aware=True) for service in services}
    try:
        yield [EventStore(clients[service][config.mongo_db(service)], service) for service in services]
    finally:
        for client in clients.values():
            client.close()


def audit_checkpoint(args: argparse.Namespace, services: list[str]) -> int:
    """Write a signed checkpoint of every service to a file the database's writers cannot reach."""
    with stores(services) as found:
        taken = [checkpoint.take(store) for store in found]
    Path(args.out).write_text(json.dumps({"checkpoints": taken}, indent=1))
    for item in taken:
        print(f"{item['service']}: {item['streams']} stream sampai posisi {item['position']}")
    print(f"titik periksa ditulis ke {args.out}; simpan di luar basis data (penyimpanan sekali-tulis)")
    return 0


def verify_checkpoint(path: str) -> bool:
    """Check every service against a checkpoint file; True when something no longer matches."""
    taken = {item.get("service"): item for item in json.loads(Path(path).read_text())["checkpoints"]}
    broken = False
    with stores(sorted(taken)) as found:
        for store in found:
            problems = checkpoint.check(store, taken[store.service])
            broken = broken or bool(problems)
            print(f"{store.service}: titik periksa {'COCOK' if not problems else 'TIDAK COCOK'} "
                  f"(posisi {taken[store.service].get('position')})")
            for problem in problems:
                print(f"  {problem}")
    return broken
