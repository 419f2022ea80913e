"""Anomalies of submitted forms, kept by identity so the admin dashboard counts them with the roster's own.

forms computes a form's anomalies on every save (the same NIK on two NIPs among them) and sends them with
`FormSubmitted`; identity records the codes of each submission on `form-anomalies-{nip}` and the roster read
model carries the latest (`form_anomalies`), which `identity.progress` counts.
"""
from __future__ import annotations

from identity.projections import Projector
from pupns.eventstore import EventStore, NewEvent

EVENT = "FormAnomaliesNoted"


def stream(nip: str) -> str:
    return f"form-anomalies-{nip}"


def note(store: EventStore, message: dict, key: str) -> None:
    """Record the anomaly codes a submission carried (none is recorded too: it clears the previous ones)."""
    nip, data = message["nip"], message["data"]
    codes = sorted({a.get("code") for a in data.get("anomalies") or [] if isinstance(a, dict) and a.get("code")})
    meta = {"actor": "system", "role": "system", "correlation_id": message["event_id"]}
    name = stream(nip)
    store.append(name, store.stream_version(name),
                 [NewEvent(EVENT, {"codes": codes, "submitted_at": data.get("submitted_at")})], meta, nip=nip,
                 instansi_kode=data.get("instansi_kode") or message.get("instansi_kode"), idempotency_key=key,
                 projection=Projector(store.db, ensure_indexes=False).apply)
