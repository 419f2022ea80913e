"""Retry schedule, statement state, the statement PDF and identity's timeline notes for e-Meterai stamping."""
from __future__ import annotations

import pytest

from documents.adapters import pdf
from documents.domain import statement as rules
from documents.settings import Settings
from identity.domain import stamping as domain


@pytest.mark.parametrize("attempt, delay", [(1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (50, 300)])
def test_retry_delay_doubles_from_the_base_up_to_the_cap(attempt, delay):
    assert rules.retry_delay(attempt) == delay


def test_a_refusal_waits_the_cap_but_is_still_retried(monkeypatch):
    assert rules.retry_delay(1, retryable=False) == 300
    monkeypatch.setenv("PUPNS_METERAI_RETRY_BASE", "0.5")
    monkeypatch.setenv("PUPNS_METERAI_RETRY_MAX", "60")
    backoff = Settings.from_env().stamp_backoff
    assert [rules.retry_delay(n, backoff=backoff) for n in (1, 2, 3, 10)] == [0.5, 1, 2, 60]
    assert rules.retry_delay(1, retryable=False, backoff=backoff) == 60


def test_a_stamp_is_final():
    assert rules.state_after("StampRequested", None) == rules.REQUESTED
    assert rules.state_after("StampFailed", rules.REQUESTED) == rules.RETRYING
    assert rules.state_after("StatementStamped", rules.RETRYING) == rules.STAMPED
    assert rules.state_after("StampFailed", rules.STAMPED) == rules.STAMPED


def test_statement_pdf_is_stable_and_binds_the_data():
    facts = {"nip": "198001012005011001", "nama": "Siti Rahayu", "instansi_kode": "4011",
             "submitted_at": "2015-12-29T23:59:58+07:00", "sections": {"data_posisi": {"jabatan": "Guru"}},
             "data_sha256": rules.data_digest({"data_posisi": {"jabatan": "Guru"}})}
    content = pdf.render_statement(facts)
    assert content.startswith(b"%PDF-") and content == pdf.render_statement(facts)
    assert rules.data_digest({"a": 1, "b": 2}) == rules.data_digest({"b": 2, "a": 1})
    assert pdf._waktu(facts["submitted_at"]) == "29 Desember 2015 pukul 23:59:58 (UTC+07:00)"


def message(event_type: str, statement_id: str = "s1", **data) -> dict:
    return {"event_id": f"{event_type}-{statement_id}-{data.get('attempt')}", "type": event_type,
            "occurred_at": "2015-12-30T10:00:00+07:00", "data": {"statement_id": statement_id, **data}}


def noted(*states: tuple[str, str]) -> list[dict]:
    return [{"data": {"statement_id": sid, "state": state}} for sid, state in states]


def test_stamping_notes_one_entry_per_statement_and_state():
    assert domain.stamping_note(message("StampRequested"), [])["state"] == "requested"
    first_failure = domain.stamping_note(message("StampFailed", attempt=1), noted(("s1", "requested")))
    assert first_failure["state"] == "pending" and first_failure["attempt"] == 1
    assert domain.stamping_note(message("StampFailed", attempt=2), noted(("s1", "pending"))) is None
    stamped = domain.stamping_note(message("StatementStamped", attempt=3, stamp_serial="EMT-1"),
                                   noted(("s1", "pending")))
    assert stamped["state"] == "stamped" and stamped["stamp_serial"] == "EMT-1"
    # Late arrivals (queues are not ordered across event types) never undo the stamp on the timeline.
    assert domain.stamping_note(message("StampFailed", attempt=1), noted(("s1", "stamped"))) is None
    assert domain.stamping_note(message("StampRequested"), noted(("s1", "pending"))) is None
    # A resubmission has its own statement.
    assert domain.stamping_note(message("StampRequested", "s2"), noted(("s1", "stamped")))["state"] == "requested"


def test_stamping_timeline_entries_are_indonesian_and_by_the_system():
    doc = {"data": {"state": "pending", "at": "2015-12-30T10:00:00+07:00"}, "meta": {}}
    entry = domain.stamping_timeline_entry(doc)
    assert entry == {"at": "2015-12-30T10:00:00+07:00", "type": "stamp_pending", "by_role": "system",
                     "note": domain.STAMPING_TIMELINE["pending"][1]}
    assert entry["note"].startswith("Menunggu e-Meterai (layanan e-Meterai sedang gangguan")


def test_stamping_entries_never_precede_the_submission_they_follow():
    def event(position, event_type, **extra):
        return {"position": position, "type": event_type, "meta": extra.get("meta", {}), "data": extra.get("data", {})}

    events = [event(1, "RegistrationSubmitted"), event(2, "AccountActivated"),
              event(3, "StampingNoted", data={"statement_id": "s1", "state": "requested"}),
              event(4, "StampingNoted", data={"statement_id": "s1", "state": "stamped"}),
              event(5, "AccountStatusChanged", meta={"cause": "s1"}, data={"status": "submitted"}),
              event(6, "AccountStatusChanged", meta={"cause": "v1"}, data={"status": "verified"})]
    ordered = sorted(events, key=domain.timeline_order(events))
    assert [e["position"] for e in ordered] == [1, 2, 5, 3, 4, 6]
