"""Personal fields granted to one subscriber (SPEC §5, §7): `pupns subscriber create --grant nik --grant npwp`.

The default `pns.data_verified.v1` carries no personal field. For a subscriber granted some, the verification
service publishes its own copy with those fields in clear under the routing key
`pns.data_verified.v1.granted.<name>`; that subscriber's queue is bound to it *instead of* the default key, so it
receives one copy. Nobody else can bind it: a subscriber user has no configure permission. The grants themselves
are recorded by the verification service (an audited event per change), which is what the publisher reads.
"""
from __future__ import annotations

from pupns_cli import rpc
from pupns_cli.rabbit_admin import SubscriberError

GRANTABLE = ("nik", "npwp", "alamat", "no_hp", "email", "bpjs_kesehatan_nomor", "taspen_nomor")
GRANTED_EVENT = "pns.data_verified.v1"


def parse_grants(fields: list[str]) -> list[str]:
    """The granted field names, checked and without repeats; ValueError naming what is not grantable."""
    unknown = sorted({f for f in fields if f not in GRANTABLE})
    if unknown:
        raise ValueError(f"field tidak dapat diberikan: {', '.join(unknown)}; pilih dari: {', '.join(GRANTABLE)}")
    return sorted(set(fields))


def granted_key(name: str) -> str:
    """The routing key of a granted subscriber's own copy of pns.data_verified.v1."""
    return f"{GRANTED_EVENT}.granted.{name}"


def routing_keys(name: str, events: list[str], grants: list[str]) -> list[str]:
    """What the subscriber's queue is bound to: its events, with its granted copy in place of the default one."""
    return [granted_key(name) if event == GRANTED_EVENT and grants else event for event in events]


def record_grants(name: str, grants: list[str]) -> dict:
    """Tell the verification service (audited): from now on it publishes `name`'s copy with these fields."""
    try:
        with rpc.cluster() as proxy:
            return proxy.verification.set_subscriber_grants(name, grants, rpc.cli_actor())
    except Exception as exc:  # the platform is not reachable, or refused: nothing was bound yet
        raise SubscriberError(f"layanan verification tidak dapat mencatat field yang diberikan ({exc}); "
                              "tidak ada yang diubah") from exc
