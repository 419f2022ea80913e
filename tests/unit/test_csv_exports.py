"""CSV exports of the edge (SPEC §4): BOM, header, formula-safe cells, scope; read back with the csv module."""
from __future__ import annotations

import csv
import io

import pytest

from pupns import csvexport
from tests.unit.test_edge_errors import FakeBackend, bearer, make_client

VERIFIER = bearer("verifier", "verif-a1", "A1")
ADMIN = bearer("admin", "admin", None)
PROGRESS = {"totals": {}, "by_instansi": [
    {"instansi_kode": "A1", "roster": 10, "registered": 5, "confirmed": 4, "submitted": 3, "verified": 1,
     "returned": 0, "not_reregistered": 2, "anomalies": 1, "selundupan": 0},
    {"instansi_kode": "=HYPERLINK(\"http://x\")", "roster": 1, "registered": 0, "confirmed": 0, "submitted": 0,
     "verified": 0, "returned": 0, "not_reregistered": 0, "anomalies": 0, "selundupan": 0}]}


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("text", ["=1+1", "+62812", "-5", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_a_spreadsheet_would_evaluate_get_a_leading_quote(text):
    assert csvexport.neutralise(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [("Siti Nur'aini, S.Pd.", "Siti Nur'aini, S.Pd."), (None, ""),
                                             (0, "0"), ("2015-09-01T08:00:00+07:00", "2015-09-01T08:00:00+07:00")])
def test_ordinary_cells_are_kept_as_they_are(value, cell):
    assert csvexport.neutralise(value) == cell


def test_render_quotes_commas_newlines_and_keeps_indonesian_text():
    rows = [{"nip": "198503122010011001", "nama": "Dr. Ni Luh Ayu Çandra, M.Kes.\n(baru)", "status": "submitted",
             "submitted_at": None, "anomaly_count": 2}]
    parsed = read_back(csvexport.render(csvexport.SUBMISSION_COLUMNS, rows))
    assert parsed == [list(csvexport.SUBMISSION_COLUMNS),
                      ["198503122010011001", "Dr. Ni Luh Ayu Çandra, M.Kes.\n(baru)", "submitted", "", "2"]]


def test_progress_csv_is_one_row_per_instansi_with_the_progress_columns():
    client, backend, _ = make_client(FakeBackend(**{"identity.progress": PROGRESS}))
    response = client.get("/api/v1/admin/progress.csv", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="progres-pupns-')
    header, *rows = read_back(response.data)
    assert header == ["instansi_kode", "roster", "registered", "confirmed", "submitted", "verified", "returned",
                      "not_reregistered", "anomalies"]
    assert rows[0] == ["A1", "10", "5", "4", "3", "1", "0", "2", "1"]
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")" and len(rows) == 2
    assert backend.calls[0][:2] == ("identity", "progress")


def test_progress_csv_is_for_administrators_only():
    client, backend, _ = make_client(FakeBackend(**{"identity.progress": PROGRESS}))
    assert client.get("/api/v1/admin/progress.csv").status_code == 401
    refused = client.get("/api/v1/admin/progress.csv", headers=VERIFIER)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert backend.calls == []


def test_submissions_csv_follows_every_page_with_the_callers_actor():
    pages = {None: {"items": [{"nip": "1" * 18, "nama": "-Budi", "status": "verified",
                               "submitted_at": "2015-09-01T08:00:00+07:00", "anomaly_count": 0}], "next": "1" * 18},
             "1" * 18: {"items": [{"nip": "2" * 18, "nama": "@Ani", "status": "submitted",
                                   "submitted_at": "2015-09-02T08:00:00+07:00", "anomaly_count": 3}], "next": None}}
    backend = FakeBackend(**{"verification.export_submissions": lambda actor, cursor=None: pages[cursor]})
    client, _, _ = make_client(backend)
    response = client.get("/api/v1/verifier/submissions.csv", headers=VERIFIER)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="pengajuan-A1-' in response.headers["Content-Disposition"]
    assert read_back(response.data) == [
        ["nip", "nama", "status", "submitted_at", "anomaly_count"],
        ["1" * 18, "'-Budi", "verified", "2015-09-01T08:00:00+07:00", "0"],
        ["2" * 18, "'@Ani", "submitted", "2015-09-02T08:00:00+07:00", "3"]]
    actors = [call[2][0] for call in backend.calls]
    assert actors == [{"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}] * 2


def test_submissions_csv_refuses_pns_and_anonymous_callers():
    client, backend, _ = make_client(FakeBackend(**{"verification.export_submissions": {"items": [], "next": None}}))
    assert client.get("/api/v1/verifier/submissions.csv").status_code == 401
    refused = client.get("/api/v1/verifier/submissions.csv", headers=bearer())
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert backend.calls == []


def test_openapi_documents_both_exports_as_text_csv():
    client, _, _ = make_client()
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/admin/progress.csv", "/api/v1/verifier/submissions.csv"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["text/csv"]
        assert set(paths[path]["get"]["responses"]) >= {"200", "401", "403"}
