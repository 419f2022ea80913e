"""Keyed blind indexes (SPEC §7): look a personal value up by an HMAC of it, never by the value itself."""
from __future__ import annotations

import hashlib
import hmac

from pupns import config

DEV_KEY = "pupns-development-blind-index-key-change-me"


def key() -> bytes:
    """PUPNS_BLIND_INDEX_KEY, held outside the database; required in production."""
    value = config.env("PUPNS_BLIND_INDEX_KEY", "")
    if not value:
        if config.is_production():
            raise RuntimeError("PUPNS_BLIND_INDEX_KEY must be set in production")
        value = DEV_KEY
    return value.encode()


def blind_index(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` for one purpose ("nik"): equal values match, the value cannot be read back."""
    normalised = "".join(str(value).split())
    return hmac.new(key(), f"{purpose}:{normalised}".encode(), hashlib.sha256).hexdigest()
