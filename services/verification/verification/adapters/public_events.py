"""Translate stored verification events into the versioned public events of SPEC §5."""
from __future__ import annotations

from typing import Any

from pupns.relay import public_translator

# Fields no public subscriber is granted (SPEC §5: never NIK/NPWP in clear).
WITHHELD_FIELDS = frozenset({"nik", "npwp"})


def withhold(value: Any) -> Any:
    """Remove withheld fields wherever they nest."""
    if isinstance(value, dict):
        return {k: withhold(v) for k, v in value.items() if k not in WITHHELD_FIELDS}
    if isinstance(value, list):
        return [withhold(v) for v in value]
    return value


def public_data(doc: dict) -> tuple[str, dict] | None:
    data = doc.get("data") or {}
    if doc["type"] == "RegistrationConfirmed":
        return "pns.registered.v1", {"registration_number": data.get("registration_number")}
    if doc["type"] == "SubmissionApproved":
        return "pns.data_verified.v1", {"sections": withhold(data.get("sections") or {})}
    if doc["type"] == "SubmissionReturned":
        return "pns.returned.v1", {"sections": sorted((data.get("notes") or {}).keys())}
    return None


# The outbox relay's translator: zero or one public event per stored event.
public_events = public_translator(public_data)
