"""verification's export of submissions behind `submissions.csv`: scope, every status, stable paging."""
from __future__ import annotations

import csv
import io

import pytest

from pupns import csvexport
from pupns.contracts.forms import FormSubmitted
from pupns.errors import AppError
from tests.factories import upstream_message
from verification import commands
from verification.adapters import Deps
from verification.adapters.projections import Projector

A1 = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}
B2 = {"id": "verif-b2", "role": "verifier", "instansi_kode": "B2"}
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


def submit(store, nip: str, instansi: str, nama: str, anomalies: int = 0) -> None:
    data = {"sections": {"data_utama": {"nama": nama}}, "submitted_at": "2015-09-01T08:00:00+07:00",
            "anomalies": [{"code": "x", "section": "data_utama", "message": "m"}] * anomalies,
            "instansi_kode": instansi}
    message = upstream_message("FormSubmitted", data, nip=nip, instansi_kode=instansi)
    commands.receive_submission(Deps.of(store), FormSubmitted.from_message(message), commands.consumer_meta(message),
                                f"test:{message['event_id']}")


@pytest.fixture
def verification(store_for):
    store = store_for("verification")
    Projector.ensure_indexes(store.db)
    for i in range(7):
        submit(store, f"{198001010000000000 + i}", "A1", f"=PNS {i}", anomalies=i % 3)
    submit(store, "199901010000000001", "B2", "Orang lain")
    commands.approve_submission(Deps.of(store), "198001010000000001", A1)
    commands.return_submission(Deps.of(store), "198001010000000002", {"data_utama": "x"}, A1)
    return store


def export(store, actor, limit: int) -> bytes:
    return csvexport.submissions_csv(lambda cursor: commands.export_submissions(Deps.of(store), actor, cursor, limit))


def test_a_verifier_exports_every_submission_of_their_instansi_in_any_status(verification):
    header, *rows = list(csv.reader(io.StringIO(export(verification, A1, 3).decode("utf-8-sig"), newline="")))
    assert header == ["nip", "nama", "status", "submitted_at", "anomaly_count"]
    assert [r[0] for r in rows] == [f"{198001010000000000 + i}" for i in range(7)]  # paged by NIP, none twice
    assert {r[2] for r in rows} == {"submitted", "verified", "returned"}
    assert rows[1][1:] == ["'=PNS 1", "verified", "2015-09-01T08:00:00+07:00", "1"]
    assert "Orang lain" not in {r[1] for r in rows}


def test_another_instansi_sees_only_its_own_and_an_admin_sees_all(verification):
    only_b2 = commands.export_submissions(Deps.of(verification), B2, None, 100)
    assert [i["nip"] for i in only_b2["items"]] == ["199901010000000001"] and only_b2["next"] is None
    assert len(commands.export_submissions(Deps.of(verification), ADMIN, None, 100)["items"]) == 8


def test_a_pns_cannot_export(verification):
    with pytest.raises(AppError) as err:
        commands.export_submissions(Deps.of(verification), {"id": "1", "role": "pns", "instansi_kode": "A1"}, None, 10)
    assert err.value.code == "forbidden"
