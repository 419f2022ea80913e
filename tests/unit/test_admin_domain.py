"""Admin rules without infrastructure: the campaign sanction, reopening a form, the dashboard, public events."""
from __future__ import annotations

import json
import pathlib
import uuid

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from forms.domain import Form
from identity.adapters.public_events import public_events
from identity.commands.progress import merge
from identity.domain.events import Reinstated
from identity.domain.record import PnsRecord
from pupns.aggregate import DomainError

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "events"
NIP = "198503122010011001"
CLOSE = "2025-12-31T17:00:00+00:00"


def on_roster() -> PnsRecord:
    record = PnsRecord(NIP)
    record.apply_stored("RosterEntryImported", {"row": {"nip": NIP, "instansi_kode": "3273"}}, 1)
    return record


def test_a_roster_pns_is_marked_once_per_close():
    record = on_roster()
    assert record.mark_not_reregistered(CLOSE) is True
    assert record.mark_not_reregistered(CLOSE) is False
    assert [e.type_name() for e in record.pending] == ["MarkedNotReregistered"]
    assert PnsRecord(NIP).mark_not_reregistered(CLOSE) is False  # not on the roster: nothing to mark


def test_reinstatement_needs_a_sanction_and_is_not_undone_by_closing_again():
    record = on_roster()
    with pytest.raises(DomainError) as err:
        record.reinstate("SK pembatalan")
    assert err.value.code == "invalid_state"
    record.mark_not_reregistered(CLOSE)
    record.reinstate("SK pembatalan")
    assert not record.not_reregistered
    assert record.mark_not_reregistered(CLOSE) is False
    assert record.mark_not_reregistered("2026-01-31T17:00:00+00:00") is True  # a later close counts anew


def test_a_submission_made_before_the_close_lifts_the_sanction():
    record = on_roster()
    record.mark_not_reregistered(CLOSE)
    assert record.lift_for_submission("2026-01-01T00:00:01+07:00", "x") is False  # after the close
    assert record.lift_for_submission("2025-12-31T23:59:00+07:00", "x") is True
    assert isinstance(record.pending[-1], Reinstated) and record.pending[-1].automatic


def verified_form() -> Form:
    form = Form(NIP)
    for kind, data in (("FormOpened", {"instansi_kode": "3273", "jabatan": "Pengemudi", "roster": {},
                                       "sections": {}}),
                       ("FormSubmitted", {"sections": {}, "submitted_at": CLOSE, "anomalies": [],
                                          "instansi_kode": "3273", "nama": "Budi"})):
        form.apply_stored(kind, data, form.version + 1)
    return form


def test_only_a_verified_form_can_be_reopened_and_it_becomes_an_editable_draft():
    form = verified_form()
    with pytest.raises(DomainError) as err:
        form.reopen("salah golongan")
    assert err.value.code == "invalid_state"
    form.apply_stored("FormVerified", {}, 3)
    form.reopen("salah golongan")
    assert form.status == "draft"
    form.save_section("riwayat_diklat", [], campaign_open=True)
    assert [e.type_name() for e in form.pending] == ["FormReopened", "SectionSaved"]
    with pytest.raises(DomainError) as err:
        Form(NIP).reopen("x")
    assert err.value.code == "not_found"


def test_dashboard_merges_groupings_and_puts_unattributed_attempts_last():
    body = merge(
        [{"_id": "3273", "roster": 5, "flagged": 1, "not_reregistered": 2}, {"_id": "K024", "roster": 3,
                                                                            "flagged": 0, "not_reregistered": 0}],
        [{"_id": "3273", "registered": 3, "confirmed": 2, "submitted": 1, "verified": 0, "returned": 1}],
        [{"_id": "unknown", "selundupan": 2}, {"_id": "3273", "selundupan": 1}])
    assert [r["instansi_kode"] for r in body["by_instansi"]] == ["3273", "K024", "unknown"]
    assert body["by_instansi"][0] == {"instansi_kode": "3273", "roster": 5, "registered": 3, "confirmed": 2,
                                      "submitted": 1, "verified": 0, "returned": 1, "not_reregistered": 2,
                                      "anomalies": 2, "selundupan": 1}
    assert body["totals"]["roster"] == 8 and body["totals"]["anomalies"] == 4 and body["totals"]["selundupan"] == 3


def stored(kind: str, data: dict) -> dict:
    return {"_id": uuid.uuid4().hex, "stream": f"roster-{NIP}", "version": 2, "type": kind, "data": data,
            "nip": NIP, "instansi_kode": "3273", "meta": {"occurred_at": "2025-12-31T17:00:00.000+00:00"}}


@pytest.mark.parametrize("kind,data,routing_key,public", [
    ("MarkedNotReregistered", {"closes_at": CLOSE}, "pns.not_reregistered.v1", {}),
    ("Reinstated", {"reason": "SK pembatalan", "automatic": False}, "pns.reinstated.v1", {"reason": "SK pembatalan"}),
])
def test_identity_translator_output_validates_against_the_published_schema(kind, data, routing_key, public):
    doc = stored(kind, data)
    [(key, payload)] = list(public_events(doc))
    assert key == routing_key == payload["type"] and payload["data"] == public
    schema = json.loads((SCHEMAS / f"{routing_key}.json").read_text())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(payload)
    assert list(public_events(doc)) == [(key, payload)]  # stable id across re-publication


def test_other_identity_events_stay_internal():
    assert list(public_events(stored("RosterEntryImported", {"row": {}}))) == []
    assert list(public_events(stored("RegistrationSubmitted", {"password_hash": "x"}))) == []
