"""Signed checkpoints kept outside the database: deleting a whole stream (events and head) is detected, growth after
the checkpoint is not an alarm, and a forged checkpoint is refused (issue 11 item 6)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pupns import checkpoint
from pupns.eventstore import NewEvent
from pupns.integrity import verify_chains

LATER = datetime.now(UTC) + timedelta(hours=1)  # every event of the test is settled by then


def test_a_deleted_stream_is_found_by_the_checkpoint_though_the_chains_still_verify(store_for):
    store = store_for("checkpointed")
    for n in range(30):
        store.append(f"account-{n}", 0, [NewEvent("Opened", {"n": n}), NewEvent("Noted", {"n": n})], nip=str(n))
    taken = checkpoint.take(store, now=LATER)
    assert taken["streams"] == 30 and taken["position"] > 0 and checkpoint.check(store, taken) == []

    store.append("account-3", 2, [NewEvent("Noted", {"later": True})])  # growth after the checkpoint
    store.append("account-99", 0, [NewEvent("Opened", {})])
    assert checkpoint.check(store, taken) == []

    store.events.delete_many({"stream": "account-7"})  # a writer of the database removes a whole stream
    assert verify_chains(store)["broken"] == []  # the chains alone cannot see it
    found = checkpoint.check(store, taken)
    assert {"reason": "stream_changed_before_checkpoint", "bucket": checkpoint.bucket_of("account-7")} in found
    assert {"reason": "stream_count_changed", "was": 30, "now": 29} in found


def test_a_truncated_stream_and_a_forged_checkpoint_are_reported(store_for):
    store = store_for("checkpointed2")
    store.append("form-1", 0, [NewEvent("Opened", {}), NewEvent("Saved", {})])
    taken = checkpoint.take(store, now=LATER)
    store.events.delete_one({"stream": "form-1", "version": 2})
    assert checkpoint.check(store, taken)[0]["reason"] == "stream_changed_before_checkpoint"
    forged = {**taken, "streams": 2}
    assert checkpoint.check(store, forged) == [{"reason": "checkpoint_signature_invalid"}]


def test_events_not_yet_settled_are_left_to_the_next_checkpoint(store_for):
    store = store_for("checkpointed3")
    store.append("x-1", 0, [NewEvent("Opened", {})])
    assert checkpoint.take(store)["position"] == 0  # just written: its transaction's neighbours may still land


def test_the_cli_writes_a_checkpoint_file_and_finds_a_deleted_stream_with_it(store_for, tmp_path, capsys):
    import argparse

    from pupns_cli import checkpoints

    store = store_for("identity")
    for n in range(5):
        store.append(f"account-{n}", 0, [NewEvent("Opened", {})], nip=str(n))
    path = tmp_path / "checkpoint.json"
    store.events.update_many({}, {"$set": {"meta.occurred_at": "2020-01-01T00:00:00.000+00:00"}})  # settled
    assert checkpoints.audit_checkpoint(argparse.Namespace(out=str(path)), ["identity"]) == 0
    assert "identity: 5 stream" in capsys.readouterr().out
    assert checkpoints.verify_checkpoint(str(path)) is False
    store.events.delete_many({"stream": "account-2"})
    assert checkpoints.verify_checkpoint(str(path)) is True
    assert "identity: titik periksa TIDAK COCOK" in capsys.readouterr().out
