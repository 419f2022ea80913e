"""The admin dashboard over a roster of thousands, on the real SecantusDB (the use case called directly)."""
from __future__ import annotations

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands.progress import progress

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
# 8,000 rows give every count but `submitted`, `returned` and `selundupan` a non-zero value. At 100,000 the test
# spent two minutes of `make test` inserting rows into SecantusDB (~1,000-1,600 rows/s) and checked nothing more:
# the dashboard is three $group aggregations, answered in 40 rows at any roster size.
ROSTER_SIZE = 8_000


def test_progress_counts_a_roster_of_8000(store_for):
    store = store_for("identity")
    Projector.ensure_indexes(store.db)
    # Read-model rows as the roster projection writes them (appending that many events would take minutes here).
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
    assert {row["roster"] for row in body["by_instansi"]} == {ROSTER_SIZE // 40}
    assert body["totals"] == {"roster": 8_000, "registered": 4_000, "confirmed": 2_000, "submitted": 0,
                              "verified": 2_000, "returned": 0, "not_reregistered": 800, "anomalies": 80,
                              "selundupan": 0}
