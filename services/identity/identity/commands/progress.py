"""The admin dashboard: counts per instansi from identity's read models, by aggregation (no row loops).

Definitions (also in docs/CONTRACT.md):
- roster: PNS on the master roster; anomalies: roster PNS with at least one anomaly flag on the roster entry
  or on their latest submitted form (`form_anomalies`, see identity.commands.form_anomalies), plus
  "PNS selundupan" candidates (distinct unknown NIPs attempted) attributed to the instansi;
- registered: live registrations (pending confirmation or confirmed; a rejected one counts again when
  the PNS registers again); confirmed: of those, confirmed by a verifier;
- submitted / returned / verified: the current form state of confirmed PNS;
- not_reregistered: roster PNS under the campaign-close sanction.
Unknown-NIP attempts that cannot be attributed are counted under instansi_kode "unknown".
"""
from __future__ import annotations

from collections.abc import Iterable

from identity.adapters import Deps
from pupns.actors import Actor, require_role

UNKNOWN_INSTANSI = "unknown"
COUNTS = ("roster", "registered", "confirmed", "submitted", "verified", "returned", "not_reregistered",
          "anomalies", "selundupan")


def _count_if(condition: dict) -> dict:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def _is(field: str, value: str) -> dict:
    return {"$eq": [f"${field}", value]}


ROSTER_PIPELINE = [{"$group": {
    "_id": "$instansi_kode",
    "roster": {"$sum": 1},
    "flagged": _count_if({"$or": [{"$gt": [{"$size": {"$ifNull": ["$anomalies", []]}}, 0]},
                                  {"$gt": [{"$size": {"$ifNull": ["$form_anomalies", []]}}, 0]}]}),
    "not_reregistered": _count_if({"$eq": ["$not_reregistered", True]}),
}}]
ACCOUNT_PIPELINE = [{"$group": {
    "_id": "$instansi_kode",
    "registered": _count_if({"$in": ["$status", ["pending_confirmation", "active"]]}),
    "confirmed": _count_if(_is("status", "active")),
    **{state: _count_if({"$and": [_is("status", "active"), _is("form_status", state)]})
       for state in ("submitted", "verified", "returned")},
}}]
SELUNDUPAN_PIPELINE = [{"$group": {"_id": {"$ifNull": ["$instansi_kode", UNKNOWN_INSTANSI]},
                                   "selundupan": {"$sum": 1}}}]


def merge(roster: Iterable[dict], accounts: Iterable[dict], selundupan: Iterable[dict]) -> dict:
    """Combine the three groupings into the spec's {totals, by_instansi} body."""
    rows: dict[str, dict] = {}

    def row(kode: str | None) -> dict:
        kode = kode or UNKNOWN_INSTANSI
        return rows.setdefault(kode, {"instansi_kode": kode, **dict.fromkeys(COUNTS, 0)})

    for group in roster:
        target = row(group["_id"])
        target["roster"] += group["roster"]
        target["not_reregistered"] += group["not_reregistered"]
        target["anomalies"] += group["flagged"]
    for group in accounts:
        target = row(group["_id"])
        for key in ("registered", "confirmed", "submitted", "verified", "returned"):
            target[key] += group[key]
    for group in selundupan:
        target = row(group["_id"])
        target["selundupan"] += group["selundupan"]
        target["anomalies"] += group["selundupan"]
    by_instansi = sorted(rows.values(), key=lambda r: (r["instansi_kode"] == UNKNOWN_INSTANSI, r["instansi_kode"]))
    totals = {key: sum(r[key] for r in by_instansi) for key in COUNTS}
    return {"totals": totals, "by_instansi": by_instansi}


def progress(deps: Deps, actor: Actor) -> dict:
    """`GET /admin/progress` for administrators."""
    require_role(actor, "admin")
    return merge(*deps.read.group_counts(ROSTER_PIPELINE, ACCOUNT_PIPELINE, SELUNDUPAN_PIPELINE))
