"""Translate stored identity events into the public events of SPEC §5 (campaign sanction, reinstatement)."""
from __future__ import annotations

from pupns.relay import public_translator


def public_data(doc: dict) -> tuple[str, dict] | None:
    """The public routing key and data of one stored event, None when it is not public."""
    if doc["type"] == "MarkedNotReregistered":
        return "pns.not_reregistered.v1", {}
    if doc["type"] == "Reinstated":
        return "pns.reinstated.v1", {"reason": doc["data"]["reason"]}
    return None


# The outbox relay's translator: zero or one public event per stored event.
public_events = public_translator(public_data)
