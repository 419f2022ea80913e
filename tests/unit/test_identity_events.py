"""identity's typed events store the same type names and data keys as the dict events they replaced, so other
services, the public translator and replays of existing logs read them unchanged; keys added since (issue 13:
facts worked out on the clear values before sealing) come after them, with defaults, and bump SCHEMA_VERSION."""
from __future__ import annotations

import dataclasses

import pytest

from identity.domain import events as ev
from identity.domain.accounts import PnsAccount, StaffAccount
from identity.domain.record import PnsRecord
from pupns.aggregate import DomainError
from pupns.repository import new_event

# Type -> data keys, as identity wrote them before the events were typed (NewEvent("Type", {...})), then keys added.
LEGACY_KEYS = {
    "RosterEntryImported": ["row", "nik_bi", "fingerprint", "anomaly_codes"],
    "RosterEntryCorrected": ["row", "from_submission", "nik_bi", "anomaly_codes"],
    "MarkedNotReregistered": ["closes_at"],
    "Reinstated": ["reason", "automatic"],
    "NikMismatched": ["at"],
    "RegistrationSubmitted": ["registration_number", "nip", "email", "nama", "instansi_kode", "instansi_nama",
                              "unit_kerja", "password_hash", "roster", "registered_at"],
    "AccountActivated": ["registration_number"],
    "AccountRejected": ["reason"],
    "AccountStatusChanged": ["status", "note", "since"],  # `since` added later, with a default: old events read
    "StampingNoted": ["statement_id", "state", "at", "attempt", "stamp_serial"],
    "StaffAccountCreated": ["username", "role", "instansi_kode", "password_hash"],
    "StaffAccountDisabled": ["username", "reason"],
    "StaffAccountEnabled": ["username", "reason"],
    "StaffPasswordChanged": ["username", "password_hash", "reset"],
    "PasswordRehashed": ["username", "kind", "password_hash"],
    "CampaignScheduled": ["opens_at", "closes_at"],
    "CampaignClosed": ["closes_at"],
    "UnknownNipAttempted": ["nip", "at", "instansi_hint"],
    "FormAnomaliesNoted": ["codes", "submitted_at"],
    "ReminderDue": ["closes_at", "before"],
    "RecordErased": ["reason"],
}
# Events whose data now holds personal values sealed (issue 13): schema_version 2.
SEALED = {"RosterEntryImported", "RosterEntryCorrected", "RegistrationSubmitted", "StaffAccountCreated",
          "PasswordRehashed", "StaffPasswordChanged"}
EVENTS = [cls for cls in vars(ev).values()
          if isinstance(cls, type) and issubclass(cls, ev.DomainEvent) and cls is not ev.DomainEvent]


def test_every_event_keeps_its_stored_name_and_data_keys():
    assert sorted(cls.type_name() for cls in EVENTS) == sorted(LEGACY_KEYS)
    for cls in EVENTS:
        assert [f.name for f in dataclasses.fields(cls)] == LEGACY_KEYS[cls.type_name()], cls.type_name()
        assert cls.SCHEMA_VERSION == (2 if cls.type_name() in SEALED else 1), cls.type_name()


def test_a_version_1_roster_event_reads_back_without_the_added_keys():
    event = ev.RosterEntryImported.from_data({"row": {"nik": "3273011203850001"}})
    assert (event.nik_bi, event.fingerprint, event.anomaly_codes) == (None, None, None)


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.type_name())
def test_a_stored_event_reads_back_as_the_same_event(cls):
    data = {name: f"v-{name}" for name in LEGACY_KEYS[cls.type_name()]}
    event = cls.from_data({**data, "added_later": 1})  # keys a newer writer added are ignored, not fatal
    assert event.to_data() == data and new_event(event).type == cls.type_name()


def test_an_account_follows_its_registration_and_refuses_a_second_one():
    account = PnsAccount.load("199001012015031001", [
        {"type": "RegistrationSubmitted", "version": 1, "data": {**dict.fromkeys(LEGACY_KEYS["RegistrationSubmitted"]),
                                                                 "instansi_kode": "4011"}}])
    assert (account.status, account.instansi_kode, account.version) == ("pending_confirmation", "4011", 1)
    account.change_form_status("submitted")  # not active yet: nothing
    assert account.pending == []
    with pytest.raises(DomainError):
        account.submit_registration(ev.RegistrationSubmitted(*[None] * 10))
    account.activate("PUPNS-2026-ABCD2345")
    account.change_form_status("submitted")
    assert [e.type_name() for e in account.pending] == ["AccountActivated", "AccountStatusChanged"]
    assert (account.status, account.form_status) == ("active", "submitted")
    account.reject("late")  # only a pending registration can be rejected
    assert len(account.pending) == 2


def test_a_staff_account_records_only_real_changes():
    staff = StaffAccount("verif1")
    with pytest.raises(DomainError):
        staff.set_active(False, "x")
    staff.create("verifier", "4011", "hash")
    staff.set_active(True, "already active")
    staff.set_active(False, "cuti")
    assert [e.type_name() for e in staff.pending] == ["StaffAccountCreated", "StaffAccountDisabled"]
    with pytest.raises(DomainError):
        staff.create("verifier", "4011", "hash")


def test_a_correction_is_recorded_only_when_it_changes_the_row():
    record = PnsRecord.load("199001012015031001", [
        {"type": "RosterEntryImported", "version": 1, "data": {"row": {"nama": "A", "instansi_kode": "4011"}}}])
    assert record.correct({"nama": "A", "instansi_kode": "4011"}, "e1") is False
    assert record.correct({"nama": "B", "instansi_kode": "4011"}, "e1") is True
    assert record.row == {"nama": "B", "instansi_kode": "4011"} and record.pending[0].from_submission == "e1"


def test_a_late_submission_does_not_undo_the_approval_that_followed_it():
    """Replicas may apply verification's approval before forms' submission of the same form (issue 10 item 6)."""
    account = PnsAccount("199001012015031001")
    account.apply(ev.AccountActivated("PUPNS-2026-ABCDEFGH"))
    account.change_form_status("verified", None, since="2026-12-02T10:00:05.000+00:00")
    account.change_form_status("submitted", None, since="2026-12-02T10:00:01.000+00:00")  # late news
    assert account.form_status == "verified" and len(account.pending) == 1
    account.change_form_status("draft", "dibuka kembali", since="2026-12-02T11:00:00.000+00:00")  # a later reopen
    assert account.form_status == "draft" and len(account.pending) == 2
    account.change_form_status("submitted", None)  # a cause without a time (older producers) still applies
    assert account.form_status == "submitted"


def test_a_status_change_stored_before_since_existed_still_reads():
    old = ev.AccountStatusChanged.from_data({"status": "submitted", "note": None})
    assert (old.status, old.since) == ("submitted", None)
