"""Anomalies of submitted forms, kept by identity so the admin dashboard counts them with the roster's own.

forms computes a form's anomalies on every save (the same NIK on two NIPs among them) and sends them with
`FormSubmitted`; identity records the codes of each submission on `form-anomalies-{nip}` and the roster read
model carries the latest (`form_anomalies`), which `identity.commands.progress` counts.
"""
from __future__ import annotations

from identity.adapters import Deps
from identity.domain.events import FormAnomaliesNoted
from pupns.contracts.forms import FormSubmitted


def note(deps: Deps, event: FormSubmitted, key: str) -> None:
    """Record the anomaly codes a submission carried (none is recorded too: it clears the previous ones)."""
    codes = sorted({a.get("code") for a in event.anomalies or [] if isinstance(a, dict) and a.get("code")})
    noted = FormAnomaliesNoted(codes, event.submitted_at)
    meta = {"actor": "system", "role": "system", "correlation_id": event.event_id}
    deps.form_anomalies.run(event.nip, lambda notes: notes.note(noted, nip=event.nip,
                                                                instansi_kode=event.instansi_kode),
                            meta, idempotency_key=key)
