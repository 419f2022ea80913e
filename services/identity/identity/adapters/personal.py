"""identity's side of personal data (SPEC §7): keyed digests of clear values and staff key subjects."""
from __future__ import annotations

import hashlib
import hmac

from pupns import blind_index


def keyed_digest(purpose: str, text: str) -> str:
    """HMAC-SHA256 of `text` under the blind-index key: compares clear values (a whole roster row, a request)
    without storing them, and cannot be recomputed from a dump (a plain SHA-256 of a NIK could)."""
    return hmac.new(blind_index.key(), f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()


def staff_subject(username: str) -> str:
    """The key-store subject of a staff account's password hash."""
    return f"staff:{username}"
