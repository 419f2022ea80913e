"""The device cookie (`pupns_device`): a client that logged in as a user before is judged on its own failures.

Set on every successful login by the edge (`/api/v1/auth/token`) and the verifier console (`/login`): an
signed (the device key, pupns.signing) pair of the username and a random device id. Presented at a later
login for the same username, the device id goes to identity (and keys the edge's login rate limit), so wrong
passwords from anyone else (a guesser, a colleague, a bot) never lock the owner out (SPEC Abuse).
"""
from __future__ import annotations

import secrets

from werkzeug.http import dump_cookie

from pupns import config, signing

COOKIE = "pupns_device"
MAX_AGE = 365 * 24 * 3600


def login_key(username: str) -> str:
    """The username as login compares it: no spaces (a NIP typed in groups), lower case."""
    return "".join(username.split()).lower()


def sign(username: str, device: str) -> str:
    return signing.seal("device", {"u": login_key(username), "d": device})


def device_for(cookie: str | None, username: str) -> str | None:
    """The device id of a good cookie issued for this username; None otherwise."""
    data = signing.unseal("device", cookie)
    if data is None or data.get("u") != login_key(username) or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def cookie_header(username: str, device: str | None, path: str) -> str:
    """Set-Cookie for a successful login (the same device id again when the client had one), sent back only to
    the login route at `path`."""
    value = sign(username, device or secrets.token_hex(12))
    return dump_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, secure=config.is_production(),
                       samesite="Strict", path=path)
