"""Kubernetes exec probe for a nameko service: ready while this pod holds an open AMQP connection.

A nameko container consumes its queues over one long-lived TCP connection to RabbitMQ. An RPC
`ping()` through the broker would be answered by *any* replica, so it says nothing about this pod;
an ESTABLISHED socket to the broker's port in this pod's network namespace does. Stdlib only.
Usage: python /app/deploy/probe_amqp.py   (exit 0 = connected, 1 = not)
"""
from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

ESTABLISHED = "01"


def broker_port(uri: str) -> int:
    """The TCP port of an amqp:// or amqps:// URI (5672 / 5671 when absent)."""
    parts = urlsplit(uri)
    return parts.port or (5671 if parts.scheme == "amqps" else 5672)


def established_remote_ports(table: str) -> set[int]:
    """Remote ports of ESTABLISHED sockets in a /proc/net/tcp{,6} table."""
    ports = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == ESTABLISHED:
            ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def connected(port: int, tables: tuple[str, ...] = ("/proc/net/tcp", "/proc/net/tcp6")) -> bool:
    for path in tables:
        try:
            with open(path) as handle:
                if port in established_remote_ports(handle.read()):
                    return True
        except OSError:
            continue
    return False


def main() -> int:
    port = broker_port(os.environ.get("PUPNS_AMQP_URI", "amqp://localhost:5672/"))
    return 0 if connected(port) else 1


if __name__ == "__main__":
    sys.exit(main())
