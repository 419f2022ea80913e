"""Admin dashboard and campaign close at roster scale, on the real SecantusDB (use cases called directly)."""
from __future__ import annotations

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands.progress import progress

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
ROSTER_SIZE = 100_000


def test_progress_answers_for_a_roster_of_100000(store_for):
    store = store_for("identity")
    Projector.ensure_indexes(store.db)
    # Read-model rows as the roster projection writes them (appending 100,000 events would take minutes here).
    store.db["roster"].insert_many([
        {"_id": f"{i:018d}", "nip": f"{i:018d}", "nik": f"{i:016d}", "instansi_kode": f"I{i % 40:03d}",
         "anomalies": [{"code": "nik_duplicate"}] if i % 100 == 0 else [], "not_reregistered": i % 10 == 1,
         "version": 1} for i in range(ROSTER_SIZE)])
    store.db["accounts"].insert_many([
        {"_id": f"{i:018d}", "instansi_kode": f"I{i % 40:03d}", "registration_number": f"R{i}",
         "status": "active" if i % 4 else "pending_confirmation", "form_status": "verified" if i % 4 else None}
        for i in range(0, ROSTER_SIZE, 2)])
    body = progress(Deps.of(store), ADMIN)
    assert len(body["by_instansi"]) == 40
    assert body["totals"] == {"roster": 100_000, "registered": 50_000, "confirmed": 25_000, "submitted": 0,
                              "verified": 25_000, "returned": 0, "not_reregistered": 10_000, "anomalies": 1_000,
                              "selundupan": 0}
