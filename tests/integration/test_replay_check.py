"""`pupns replay SERVICE --check`: compares live read models with a fresh replay, replacing nothing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.adapters.projections import Projector
from pupns.replay import check
from pupns_cli.__main__ import main as cli
from pupns_cli.generate import generate_rows, roster_csv

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


def test_read_models_equal_to_a_fresh_replay_and_a_drifted_one_is_named_not_repaired(identity, store_for, capsys):
    identity.import_roster(roster_csv(5, seed=21), ADMIN)
    now = datetime.now(UTC)
    # Closing in 30 days: no reminder is due, so no background job changes a read model between the replay and
    # the comparison (that would be a race, not drift).
    identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                           "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)
    row = next(generate_rows(5, seed=21))
    identity.register({"nip": row["nip"], "nik": row["nik"], "email": "pns@example.go.id",
                       "password": "rahasia-negara-1"})
    store = store_for("identity")
    report = check(store, lambda db: Projector(db))
    assert report["equal"] and report["collections"]["roster"]["live"]["count"] == 5

    store.db["accounts"].update_one({"_id": row["nip"]}, {"$set": {"nama": "Diubah Diam-diam"}})
    report = check(store, lambda db: Projector(db))
    assert report["differ"] == ["accounts"]
    assert store.db["accounts"].find_one({"_id": row["nip"]})["nama"] == "Diubah Diam-diam"  # nothing replaced
    scratch = f"{store.db.name}_check_"  # this test's own scratch databases only (other tests run beside it)
    assert not [name for name in store.db.client.list_database_names() if name.startswith(scratch)]

    assert cli(["replay", "identity", "--check"]) == 1
    assert "accounts: BERBEDA" in capsys.readouterr().out
