"""The console's "Unduh CSV" buttons (the same files as the edge's `.csv` routes) and the anomalies it shows."""
from __future__ import annotations

import csv
import io
import re

from werkzeug.test import Client

from console.app import Console
from pupns import auth
from pupns.errors import AppError
from tests.unit.test_csv_exports import PROGRESS
from tests.unit.test_edge_errors import FakeBackend

PASSWORD = "rahasia-verifikator"
ACCOUNTS = {"verif_a1": ("verifier", "A1"), "admin": ("admin", None)}


def issue_token(username, password, device=None):
    if username not in ACCOUNTS or password != PASSWORD:
        raise AppError("invalid_credentials")
    return auth.issue_token(username, *ACCOUNTS[username])


def console(**answers) -> tuple[Client, FakeBackend]:
    backend = FakeBackend(**{"identity.issue_token": issue_token, **answers})
    return Client(Console(backend)), backend


def login(client: Client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "login_nonce": nonce})
    assert answer.status_code == 303


def rows_of(response) -> list[list[str]]:
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_submissions_page_offers_the_download_of_the_verifiers_instansi():
    items = [{"nip": "1" * 18, "nama": "+Siti", "status": "returned", "submitted_at": "2015-09-01T08:00:00+07:00",
              "anomaly_count": 1}]
    client, backend = console(**{"verification.list_submissions": {"items": [], "next": None},
                                 "verification.export_submissions": {"items": items, "next": None}})
    login(client, "verif_a1")
    assert 'href="/submissions.csv"' in client.get("/submissions").get_data(as_text=True)
    response = client.get("/submissions.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="pengajuan-A1-')
    assert rows_of(response) == [["nip", "nama", "status", "submitted_at", "anomaly_count"],
                                 ["1" * 18, "'+Siti", "returned", "2015-09-01T08:00:00+07:00", "1"]]
    service, method, args, _ = backend.calls[-1]
    assert (service, method, args[0]["instansi_kode"], args[0]["role"]) == ("verification", "export_submissions",
                                                                            "A1", "verifier")


def test_admin_dashboard_offers_the_progress_download_and_verifiers_cannot_get_it():
    client, _ = console(**{"identity.progress": PROGRESS, "identity.get_campaign": {}})
    login(client, "admin")
    assert 'href="/admin/progres.csv"' in client.get("/admin").get_data(as_text=True)
    header, *rows = rows_of(client.get("/admin/progres.csv"))
    assert header[0] == "instansi_kode" and header[-1] == "anomalies" and len(rows) == 2
    assert rows[1][0].startswith("'=")
    verifier, backend = console(**{"identity.progress": PROGRESS})
    login(verifier, "verif_a1")
    assert verifier.get("/admin/progres.csv").status_code == 403
    assert [c for c in backend.calls if c[1] == "progress"] == []


def test_without_a_session_the_download_goes_to_login():
    client, backend = console()
    answer = client.get("/submissions.csv")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/login")
    assert backend.calls == []


def test_submission_detail_shows_the_same_nik_on_two_nips():
    detail = {"nip": "1" * 18, "nama": "Andi", "status": "submitted", "submitted_at": "2015-09-01T08:00:00+07:00",
              "sections": {}, "roster": {}, "changes": [], "documents": [],
              "anomalies": [{"code": "nik_duplicate", "section": "data_utama",
                             "message": "NIK yang sama tercatat pada NIP lain."}]}
    client, _ = console(**{"verification.get_submission": detail})
    login(client, "verif_a1")
    page = client.get("/submissions/" + "1" * 18).get_data(as_text=True)
    anomalies = page.split("<h2>Anomali</h2>", 1)[1].split("<h2>", 1)[0]
    assert "NIK yang sama tercatat pada NIP lain." in anomalies
