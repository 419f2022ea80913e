"""RabbitMQ definitions for docker-compose, made at deploy time: one user per component (deploy/rabbitmq/
permissions.json) plus the operators' user, with salted SHA-256 password hashes of passwords read from the
environment (the .env file), so no password and no hash is ever committed.

    python deploy/rabbitmq/definitions.py --out /definitions/definitions.json

The compose service `rabbitmq-definitions` runs this before the broker starts; the broker loads the file
(`load_definitions` in deploy/rabbitmq/rabbitmq.conf). Standard library only: it runs in a bare python image.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from pathlib import Path

PERMISSIONS = Path(__file__).with_name("permissions.json")
OPERATOR = "pupns-operator"  # the `pupns` CLI's user (subscribers, RPC as an administrator): never given to a process


def password_env(user: str) -> str:
    """`pupns-identity` -> `PUPNS_RABBITMQ_IDENTITY_PASSWORD`."""
    return f"PUPNS_RABBITMQ_{user.removeprefix('pupns-').upper()}_PASSWORD"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)), a 4-byte salt."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(env: dict[str, str], table: dict | None = None) -> dict:
    """The definitions document; KeyError names a missing password variable."""
    table = table or json.loads(PERMISSIONS.read_text())
    vhost, users = table["vhost"], table["users"]
    names = [*users, OPERATOR]
    missing = [password_env(name) for name in names if not env.get(password_env(name))]
    if missing:
        raise KeyError(", ".join(missing))
    return {
        "vhosts": [{"name": vhost}],
        "users": [{"name": name, "password_hash": password_hash(env[password_env(name)]),
                   "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": ["administrator"] if name == OPERATOR else users[name].get("tags", [])}
                  for name in names],
        "permissions": [{"user": name, "vhost": vhost, **{k: users[name][k] for k in ("configure", "write", "read")}}
                        for name in users]
        + [{"user": OPERATOR, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
        "topic_permissions": [{"user": name, "vhost": vhost, "exchange": exchange, **patterns}
                              for name in users for exchange, patterns in users[name].get("topic", {}).items()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        made = definitions(dict(os.environ))
    except KeyError as exc:
        print(f"set {exc.args[0]} in .env", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(made, indent=2))
    out.chmod(0o644)  # the broker runs as its own user; the hashes are salted
    print(f"{len(made['users'])} users written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
