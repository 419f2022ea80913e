"""Translate stored verification events into the versioned public events of SPEC §5."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

# Fields no public subscriber is granted (SPEC §5: never NIK/NPWP in clear).
WITHHELD_FIELDS = frozenset({"nik", "npwp"})
PUBLIC_NAMESPACE = uuid.UUID("6f1c1f8e-3d0a-4b8e-9a51-7c1d2b0e5a10")


def public_event_id(stored_id: str, routing_key: str) -> str:
    """Stable per stored event and public type, so a re-publication keeps the id subscribers dedupe on."""
    return str(uuid.uuid5(PUBLIC_NAMESPACE, f"{stored_id}:{routing_key}"))


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


def public_events(doc: dict) -> Iterator[tuple[str, dict]]:
    """The outbox relay's translator: zero or one public event per stored event."""
    translated = public_data(doc)
    if translated is None:
        return
    routing_key, data = translated
    yield routing_key, {
        "event_id": public_event_id(doc["_id"], routing_key), "type": routing_key,
        "occurred_at": doc["meta"]["occurred_at"], "nip": doc["nip"], "instansi_kode": doc["instansi_kode"],
        "data": data,
    }
