"""`pupns subscriber create|list|delete`: a ministry's own queue and a RabbitMQ user that can only read it.

Everything lives in the broker (queue, bindings, user, permissions): there is no other record to keep in sync.
Permissions of `sub-NAME` in the platform vhost: configure `^$`, write `^$`, read `^sub\\.NAME$`. It may
consume (and purge) its own queue and nothing else; it cannot declare, bind, delete or publish anything.
"""
from __future__ import annotations

import argparse
import re
import secrets
import sys
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from pupns import config
from pupns_cli import grants as field_grants
from pupns_cli.rabbit_admin import RabbitAdmin, SubscriberError

# The public events of SPEC §5; each has a JSON Schema in schemas/events/<routing key>.json.
PUBLIC_EVENTS = ("pns.registered.v1", "pns.data_verified.v1", "pns.returned.v1", "pns.not_reregistered.v1",
                 "pns.reinstated.v1")
# Lowercase letters, digits and inner dashes only: none is a regex metacharacter outside a class, so the
# name pasted into `^sub\.NAME$` matches exactly one queue name.
NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ValueError(f"nama pelanggan {name!r} tidak sah: 1–40 huruf kecil, angka atau tanda '-' "
                         "(tidak di awal/akhir)")
    return name


def queue_name(name: str) -> str:
    return f"sub.{validate_name(name)}"


def user_name(name: str) -> str:
    return f"sub-{validate_name(name)}"


def permissions(name: str) -> dict[str, str]:
    """Read only its own queue; `^$` for configure and write matches no resource (the default exchange is
    checked as `amq.default`, so it is not writable either)."""
    return {"configure": "^$", "write": "^$", "read": rf"^sub\.{validate_name(name)}$"}


def parse_events(text: str) -> list[str]:
    """`a,b` → known routing keys, in order, without duplicates (no wildcards: each key is one schema)."""
    events = list(dict.fromkeys(item.strip() for item in (text or "").split(",") if item.strip()))
    unknown = [e for e in events if e not in PUBLIC_EVENTS]
    if unknown or not events:
        raise ValueError(f"peristiwa tidak dikenal: {', '.join(unknown) or '(kosong)'}; "
                         f"pilih dari: {', '.join(PUBLIC_EVENTS)}")
    return events


def vhost_from_uri(uri: str) -> str:
    """The vhost of an AMQP URI the way kombu reads it (no path, or `/`, is the default vhost `/`)."""
    path = urlsplit(uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def subscriber_uri(amqp_uri: str, user: str, password: str) -> str:
    """The platform's AMQP address with the subscriber's credentials instead of the platform's."""
    parts = urlsplit(amqp_uri)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}:{parts.port or 5672}"
    return f"{parts.scheme or 'amqp'}://{netloc}/{quote(vhost_from_uri(amqp_uri), safe='')}"


@dataclass
class Outcome:
    queue: str
    user: str
    queue_type: str
    events: list[str]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    password: str | None = None  # set only when created or rotated
    closed_connections: int = 0


def _check_user(admin: RabbitAdmin, user: str, vhost: str) -> dict | None:
    """The existing subscriber user, refusing one that is broker-wide more than a subscriber of this vhost."""
    existing = admin.get_user(user)
    if existing is None:
        return None
    tags = existing.get("tags") or []
    if tags:
        raise SubscriberError(f"pengguna {user} sudah ada dengan tag {tags}: bukan pengguna pelanggan; tidak diubah")
    elsewhere = sorted(p["vhost"] for p in admin.permissions_of(user) if p["vhost"] != vhost)
    if elsewhere:
        raise SubscriberError(f"pengguna {user} sudah punya izin di vhost lain ({', '.join(elsewhere)}); "
                              "pengguna RabbitMQ berlaku untuk seluruh broker: pilih nama lain")
    return existing


def create(admin: RabbitAdmin, vhost: str, exchange: str, name: str, events: list[str],
           rotate_password: bool = False) -> Outcome:
    """Create or update a subscriber; idempotent, and the password changes only on request."""
    queue, user = queue_name(name), user_name(name)
    if not admin.vhost_exists(vhost):
        raise SubscriberError(f"vhost {vhost!r} tidak ada di RabbitMQ")
    existing_user = _check_user(admin, user, vhost)
    found = admin.get_queue(vhost, queue)
    if found is None:
        queue_type = "quorum" if admin.supports_quorum() else "classic"
        admin.put_queue(vhost, queue, queue_type)
    elif not found.get("durable", False):
        raise SubscriberError(f"antrean {queue} sudah ada tetapi tidak durable; hapus dulu (subscriber delete)")
    else:
        queue_type = found.get("type", "classic")
    admin.put_topic_exchange(vhost, exchange)
    bound = admin.bindings(vhost, exchange, queue)
    outcome = Outcome(queue, user, queue_type, list(events))
    for key in events:
        if key not in bound:
            admin.bind(vhost, exchange, queue, key)
            outcome.added.append(key)
    for key, properties_key in sorted(bound.items()):
        if key not in events:
            admin.unbind(vhost, exchange, queue, properties_key)
            outcome.removed.append(key)
    if existing_user is None or rotate_password:
        outcome.password = secrets.token_urlsafe(32)
        admin.put_user(user, outcome.password)
    admin.set_permissions(vhost, user, permissions(name))
    if existing_user is not None and rotate_password:
        outcome.closed_connections = admin.close_connections(vhost, user)
    return outcome


def listing(admin: RabbitAdmin, vhost: str, exchange: str) -> list[dict]:
    """Every `sub.*` queue of the vhost with its bindings, backlog, consumers and whether its user exists."""
    rows = []
    for queue in sorted(admin.queues(vhost), key=lambda q: q["name"]):
        if not queue["name"].startswith("sub."):
            continue
        name = queue["name"][4:]
        rows.append({"name": name, "queue": queue["name"], "type": queue.get("type", "classic"),
                     "events": sorted(admin.bindings(vhost, exchange, queue["name"])),
                     "messages": queue.get("messages", 0), "consumers": queue.get("consumers", 0),
                     "user": NAME_PATTERN.fullmatch(name) is not None and admin.get_user(f"sub-{name}") is not None})
    return rows


def delete(admin: RabbitAdmin, vhost: str, name: str) -> list[str]:
    """Remove the user (the broker closes its connections) and then the queue; returns what was removed."""
    queue, user = queue_name(name), user_name(name)
    removed = []
    if admin.get_user(user) is not None:
        if any(p["vhost"] != vhost for p in admin.permissions_of(user)):
            admin.clear_permissions(vhost, user)
            removed.append(f"izin {user} di vhost {vhost} (pengguna dipakai di vhost lain)")
        else:
            admin.delete_user(user)
            removed.append(f"pengguna {user}")
    if admin.get_queue(vhost, queue) is not None:
        admin.delete_queue(vhost, queue)
        removed.append(f"antrean {queue}")
    return removed


# -- command line ----------------------------------------------------------------------------------------
def _target() -> tuple[RabbitAdmin, str, str]:
    return RabbitAdmin(), vhost_from_uri(config.amqp_uri()), config.public_exchange()


def cmd_create(args: argparse.Namespace) -> int:
    try:
        events = parse_events(args.events)
        validate_name(args.name)
        grants = field_grants.parse_grants(args.grant)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    admin, vhost, exchange = _target()
    try:
        was_granted = field_grants.granted_key(args.name) in _bound(admin, vhost, exchange, args.name)
        if grants or was_granted:  # first the publisher, then the binding: a switch may repeat one event, never lose it
            field_grants.record_grants(args.name, grants)
        keys = field_grants.routing_keys(args.name, events, grants)
        done = create(admin, vhost, exchange, args.name, keys, rotate_password=args.rotate_password)
    except SubscriberError as exc:
        print(f"{exc}\nperintah ini aman diulang; bila kata sandi belum sempat tampil, ulangi dengan "
              "--rotate-password", file=sys.stderr)
        return 1
    print(f"pelanggan {args.name}: antrean {done.queue} ({done.queue_type}, durable) di vhost {vhost}, "
          f"pengguna {done.user}")
    print(f"peristiwa dari {exchange}: {', '.join(done.events)} "
          f"(ditambah: {', '.join(done.added) or '-'}; dilepas: {', '.join(done.removed) or '-'})")
    print(f"izin: configure '^$', write '^$', read '{permissions(args.name)['read']}'")
    if done.password is None:
        print("kata sandi tidak berubah (pakai --rotate-password untuk menggantinya)")
    else:
        print(f"kata sandi: {done.password}")
        print(f"amqp_uri: {subscriber_uri(config.amqp_uri(), done.user, done.password)}")
        print("simpan sekarang: kata sandi ini tidak akan ditampilkan lagi")
    if done.closed_connections:
        print(f"{done.closed_connections} koneksi lama {done.user} ditutup")
    print(f"field pribadi yang diberikan: {', '.join(grants) if grants else '-'}")
    return 0


def _bound(admin: RabbitAdmin, vhost: str, exchange: str, name: str) -> dict:
    """The routing keys the subscriber's queue is bound to now (nothing when it does not exist yet)."""
    if admin.get_queue(vhost, queue_name(name)) is None:
        return {}
    return admin.bindings(vhost, exchange, queue_name(name))


def cmd_list(args: argparse.Namespace) -> int:
    admin, vhost, exchange = _target()
    try:
        rows = listing(admin, vhost, exchange)
    except SubscriberError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not rows:
        print(f"belum ada pelanggan di vhost {vhost}")
    for row in rows:
        user = f"sub-{row['name']}" if row["user"] else "TANPA PENGGUNA"
        print(f"{row['name']}: antrean {row['queue']} ({row['type']}), {user}, "
              f"{row['messages']} pesan menunggu, {row['consumers']} konsumen; "
              f"peristiwa: {', '.join(row['events']) or '-'}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    try:
        validate_name(args.name)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    admin, vhost, exchange = _target()
    try:
        if field_grants.granted_key(args.name) in _bound(admin, vhost, exchange, args.name):
            field_grants.record_grants(args.name, [])  # its copies stop before its queue goes
        removed = delete(admin, vhost, args.name)
    except SubscriberError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"dihapus: {', '.join(removed)}" if removed else f"pelanggan {args.name} tidak ditemukan; tidak ada "
          "yang dihapus")
    return 0


def add_commands(groups) -> None:
    """The `subscriber` group of the `pupns` parser."""
    sub = groups.add_parser("subscriber", help="pelanggan peristiwa publik (antrean + pengguna RabbitMQ)")
    commands = sub.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="buat atau perbarui pelanggan (idempoten)")
    make.add_argument("--name", required=True, help="huruf kecil, angka, '-'; antrean sub.NAME, pengguna sub-NAME")
    make.add_argument("--events", required=True, help=f"dipisah koma, dari: {', '.join(PUBLIC_EVENTS)}")
    make.add_argument("--grant", "--grant-field", dest="grant", action="append", default=[], metavar="FIELD",
                      help="field pribadi yang boleh diterima dalam pns.data_verified.v1 (ulangi per field): "
                           + ", ".join(field_grants.GRANTABLE))
    make.add_argument("--rotate-password", action="store_true", help="buat kata sandi baru dan putuskan koneksi lama")
    make.set_defaults(func=cmd_create)
    commands.add_parser("list", help="daftar pelanggan di vhost platform").set_defaults(func=cmd_list)
    drop = commands.add_parser("delete", help="hapus pengguna dan antrean pelanggan (pesan yang menunggu hilang)")
    drop.add_argument("--name", required=True)
    drop.set_defaults(func=cmd_delete)
