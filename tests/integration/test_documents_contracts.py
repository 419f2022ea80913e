"""Documents reads forms.FormSubmitted through its contract: what it cannot read is set aside, not stamped."""
from __future__ import annotations

import uuid

from nameko.standalone.events import event_dispatcher

from documents.service import DocumentsService
from pupns.contracts import DEAD_LETTERS
from pupns_dev.waiting import wait_until


def form_submitted(data: dict, **envelope) -> dict:
    nip = f"1990010120150310{uuid.uuid4().int % 100:02d}"
    return {"event_id": uuid.uuid4().hex, "stream": f"form-{nip}", "version": 3, "type": "FormSubmitted",
            "schema_version": 1, "occurred_at": "2015-12-29T16:59:58.000+00:00", "nip": nip, "instansi_kode": "4011",
            "data": data, "meta": {"actor": nip, "role": "pns"}, **envelope}


def test_an_unknown_version_or_a_wrong_shape_gets_no_statement(runner_factory, rabbit_config, store_for,
                                                               monkeypatch):
    monkeypatch.setenv("PUPNS_METERAI_URL", "http://127.0.0.1:9")  # nothing listens: statements stay unstamped
    runner_factory(rabbit_config, DocumentsService).start()
    sections = {"data_utama": {"nama": "Siti"}}
    newer = form_submitted({"sections": sections, "submitted_at": "2015-12-29T23:59:58+07:00"}, schema_version=3)
    misshapen = form_submitted({"sections": sections})  # no submitted_at
    readable = form_submitted({"sections": sections, "submitted_at": "2015-12-29T23:59:58+07:00", "nama": "Siti"})
    send = event_dispatcher(rabbit_config)
    for message in (newer, misshapen, readable):
        send("forms", "FormSubmitted", message)

    store = store_for("documents")
    wait_until(lambda: store.db[DEAD_LETTERS].count_documents({}) == 2, message="two dead letters")
    assert {row["message"]["event_id"] for row in store.db[DEAD_LETTERS].find()} == {newer["event_id"],
                                                                                     misshapen["event_id"]}
    wait_until(lambda: store.read_stream(f"statement-{readable['event_id']}"), message="the readable one is issued")
    assert not store.read_stream(f"statement-{newer['event_id']}")
    assert not store.read_stream(f"statement-{misshapen['event_id']}")
