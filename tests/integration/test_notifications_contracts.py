"""Notifications reads verification's decisions through their contracts: what it cannot read is set aside."""
from __future__ import annotations

import uuid

from nameko.standalone.events import event_dispatcher

from notifications.service import NotificationsService
from pupns.contracts import DEAD_LETTERS
from pupns_dev.waiting import wait_until


def decision(event_type: str, data: dict, **envelope) -> dict:
    nip = f"1990010120150310{uuid.uuid4().int % 100:02d}"
    return {"event_id": uuid.uuid4().hex, "stream": f"submission-{nip}", "version": 2, "type": event_type,
            "schema_version": 1, "occurred_at": "2015-09-01T10:00:00.000+00:00", "nip": nip,
            "instansi_kode": "4011", "data": data, "meta": {"actor": "verifikator", "role": "verifier"}, **envelope}


def test_an_unknown_version_or_a_wrong_shape_is_a_dead_letter_not_an_email(runner_factory, rabbit_config,
                                                                           store_for):
    runner_factory(rabbit_config, NotificationsService).start()
    send = event_dispatcher(rabbit_config)
    newer = decision("SubmissionReturned", {"notes": {"data_utama": "NIK tidak sesuai"}}, schema_version=2)
    misshapen = decision("RegistrationRejected", {"registration_number": "PUPNS-2015-AAAABBBB"})  # no reason
    readable = decision("SubmissionApproved", {"sections": {}})
    for message in (newer, misshapen, readable):
        send("verification", message["type"], message)

    store = store_for("notifications")
    wait_until(lambda: store.db[DEAD_LETTERS].count_documents({}) == 2, message="two dead letters")
    letters = {row["message"]["event_id"]: row for row in store.db[DEAD_LETTERS].find()}
    assert "schema_version" in letters[newer["event_id"]]["reason"]
    assert "reason" in letters[misshapen["event_id"]]["reason"]
    wait_until(lambda: store.read_stream(f"email-{readable['event_id']}"), message="the readable one is queued")
    assert not store.read_stream(f"email-{newer['event_id']}")
    assert not store.read_stream(f"email-{misshapen['event_id']}")
