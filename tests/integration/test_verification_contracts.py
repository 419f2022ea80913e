"""verification reads forms' FormSubmitted through its contract: a message it cannot read is set aside, not lost."""
from __future__ import annotations

from nameko.standalone.events import event_dispatcher

from pupns.contracts import DEAD_LETTERS
from pupns.contracts.forms import FormSubmitted
from pupns_dev.waiting import wait_until
from tests.factories import NIP, upstream_message
from verification.service import VerificationService

SUBMITTED = {"sections": {"data_utama": {"nama": "Budi"}}, "submitted_at": "2026-09-01T08:00:00.000+00:00",
             "anomalies": [], "instansi_kode": "A1", "nama": "Budi"}


def test_a_submission_of_an_unknown_version_is_dead_lettered_and_a_known_one_is_queued(
        runner_factory, rabbit_config, store_for):
    runner_factory(rabbit_config, VerificationService).start()
    store = store_for("verification")
    dispatch = event_dispatcher(rabbit_config)
    future = upstream_message("FormSubmitted", SUBMITTED, nip=NIP, schema_version=FormSubmitted.VERSION + 1)
    dispatch("forms", "FormSubmitted", future)
    letter = wait_until(lambda: store.db[DEAD_LETTERS].find_one({"_id": f"handle_form_submitted:{future['event_id']}"}),
                        message="dead letter kept")
    assert "schema_version" in letter["reason"] and letter["message"]["data"] == SUBMITTED
    assert store.read_stream(f"submission-{NIP}") == []

    dispatch("forms", "FormSubmitted", upstream_message("FormSubmitted", SUBMITTED, nip=NIP))
    queued = wait_until(lambda: store.db["submissions"].find_one({"_id": NIP}), message="submission queued")
    assert queued["status"] == "submitted" and queued["instansi_kode"] == "A1"
    assert [e["type"] for e in store.read_stream(f"submission-{NIP}")] == ["SubmissionReceived"]
