"""Queue tickets: signed with the queue-ticket key (pupns.signing), carrying a place in line, a time to come back.

The place in line is the issue time in nanoseconds' scale (`key`: microseconds x 1000 plus a tag drawn once per
process, strictly increasing within a process): every replica orders tickets the same way without a shared counter,
so a newcomer costs no MongoDB operation, and two processes issuing in the same microsecond do not share a place
(unless they also drew the same tag, 1 in 1000). `due` is
when the holder was told to come back: a ticket presented after `due` + the grace has lost its place (the line
never outlives its crowd). Signing and checking cost a few microseconds.
"""
from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass

from werkzeug.http import dump_cookie

from pupns import signing

COOKIE = "pupns_queue"
HEADER = "X-Queue-Ticket"
ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")  # the header as WSGI names it
QUEUE = "q"  # a place in the global line
SESSION = "s"  # a turned-away session's retry slip: no place in the line, never lets an anonymous client in
TAGS = 1000  # a key is issue time in µs x TAGS + this process's tag
KEYS_PER_SECOND = 1_000_000 * TAGS
LEGACY_KEY_BELOW = 10**17  # keys issued before the tag (µs): read at the new scale


@dataclass(frozen=True)
class Ticket:
    """A place in the line: `key` orders the line (issue time, KEYS_PER_SECOND), `nonce` names the holder, `due` is
    epoch s."""

    key: int
    nonce: str
    due: float
    kind: str = QUEUE

    def live(self, now: float, grace: float) -> bool:
        """The holder came back in time (by `due` plus the grace) and so keeps the place."""
        return self.kind == QUEUE and now <= self.due + grace

    def come_back_at(self, due: float) -> Ticket:
        """The same place in line, with a new time to come back."""
        return Ticket(self.key, self.nonce, round(due, 1), self.kind)  # dataclasses.replace takes twice as long


def sign(ticket: Ticket) -> str:
    """`<payload>.<kid>.<mac>`, opaque to the client and unforgeable (the queue-ticket key, pupns.signing)."""
    return signing.seal("queue-ticket", {"k": ticket.key, "n": ticket.nonce, "d": ticket.due, "t": ticket.kind})


def verify(token: str | None, ttl: int, now: float | None = None) -> Ticket | None:
    """The ticket if its signature is good (any known kid) and it is not older than `ttl`; otherwise None."""
    data = signing.unseal("queue-ticket", token, max_length=300)
    if data is None:
        return None
    try:
        key = int(data["k"])
        ticket = Ticket(key * TAGS if key < LEGACY_KEY_BELOW else key, str(data["n"]), float(data["d"]),
                        str(data.get("t", QUEUE)))
    except (ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - issued_at(ticket.key) > ttl:
        return None
    return ticket


def issued_at(key: int) -> float:
    """Epoch seconds at which the ticket with this key was issued."""
    return key / KEYS_PER_SECOND


_last_key = [0]
_key_lock = threading.Lock()
_TAG = secrets.randbelow(TAGS)  # after a fork every worker draws its own (see _forked)


def _forked() -> None:
    global _TAG
    _TAG = secrets.randbelow(TAGS)
    _last_key[0] = 0


os.register_at_fork(after_in_child=_forked)


def new_ticket(now: float, due: float, kind: str = QUEUE) -> Ticket:
    """A place at the back of the line (or, for SESSION, a retry slip with no place)."""
    with _key_lock:  # two newcomers of one process never share a place, and the later one is behind
        key = _last_key[0] = max(int(now * 1_000_000) * TAGS + _TAG, _last_key[0] + TAGS)
    # The nonce only names the holder (the ticket is signed, so knowing it forges nothing): `random`, reseeded in
    # every forked worker, instead of os.urandom's system call, a tenth of a newcomer's turn-away.
    return Ticket(key, f"{random.getrandbits(48):012x}", round(due, 1), kind)


_COOKIE_SAFE = re.compile(r"[A-Za-z0-9_.-]+")
_cookie_tail = ((0, 0), "")  # ((second, ttl) it was made for, the cookie's attributes after its value)


def cookie(token: str, ttl: int, now: float) -> str:
    """The Set-Cookie value carrying a signed ticket, as werkzeug's dump_cookie writes it. Its attributes (with
    an Expires date) are formatted once a second, not for every newcomer a flood turns away."""
    global _cookie_tail
    if not _COOKIE_SAFE.fullmatch(token):  # werkzeug would quote it (an odd kid, say): let it
        return _dumped(token, ttl)
    stamp, tail = _cookie_tail
    if stamp != (int(now), ttl):
        made = _dumped("-", ttl)
        stamp, tail = _cookie_tail = ((int(now), ttl), made[made.index(";"):])
    return f"{COOKIE}={token}{tail}"


def _dumped(token: str, ttl: int) -> str:
    return dump_cookie(COOKIE, token, max_age=ttl, httponly=True, samesite="Lax", path="/")
