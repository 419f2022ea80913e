"""The campaign window rule, in one place for every service that checks it."""
from __future__ import annotations

from datetime import datetime


def campaign_is_open(window: dict | None, now: datetime) -> bool:
    """True inside [opens_at, closes_at); a window never scheduled, incomplete or malformed is closed."""
    if not window or not window.get("opens_at") or not window.get("closes_at"):
        return False
    try:
        opens, closes = datetime.fromisoformat(window["opens_at"]), datetime.fromisoformat(window["closes_at"])
        return opens <= now < closes
    except (TypeError, ValueError):
        return False  # includes comparing a naive time with an aware one: never scheduled that way by the API
