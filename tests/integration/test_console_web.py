"""Verifier console over real RabbitMQ RPC, driven with Werkzeug's test Client.

identity and verification are being written concurrently, so this test starts small test-only
nameko services named "identity" and "verification" that implement just the RPCs the console
calls (issue_token; list/confirm/reject registrations, list/get/approve/return submissions).
The documents service is the real one.
"""
from __future__ import annotations

import base64
import re
import uuid

import pytest
from nameko.rpc import rpc
from werkzeug.test import Client

from console.app import Console
from console.rpc import Backend
from documents.service import DocumentsService
from pupns import auth
from pupns.actors import require_instansi, require_role
from pupns.errors import AppError
from tests.integration.pages import console_login, csrf_of
from tests.rpc import signed_proxy

PASSWORD = "rahasia-verifikator"
NIP_A, NIP_B = "198001012005011001", "198502022010012002"
STATE: dict = {}


def reset_state() -> None:
    STATE.clear()
    STATE.update(registrations={
        NIP_A: {"nip": NIP_A, "nama": "Siti Rahayu", "registration_number": "PUPNS-2015-AAAA1111",
                "registered_at": "2015-09-01T10:00:00+07:00", "instansi_kode": "4011", "status": "pending"},
        NIP_B: {"nip": NIP_B, "nama": "Budi <b>Santoso</b>", "registration_number": "PUPNS-2015-BBBB2222",
                "registered_at": "2015-09-02T10:00:00+07:00", "instansi_kode": "9999", "status": "pending"}},
        submissions={NIP_A: {"status": "submitted", "instansi_kode": "4011", "document_id": None}},
        calls=[])


class FakeIdentity:
    """Test-only stand-in for identity.issue_token."""

    name = "identity"
    accounts = {"verif_bdg": ("verifier", "4011"), "admin": ("admin", None), NIP_A: ("pns", "4011")}

    @rpc
    def issue_token(self, username, password, device=None):
        if username not in self.accounts or password != PASSWORD:
            raise AppError("invalid_credentials")
        role, instansi = self.accounts[username]
        return auth.issue_token(username, role, instansi)


class FakeVerification:
    """Test-only stand-in for the verification RPCs the console calls."""

    name = "verification"

    def _registration(self, nip, actor):
        require_role(actor, "verifier", "admin")
        found = STATE["registrations"].get(nip)
        if not found:
            raise AppError("not_found")
        require_instansi(actor, found["instansi_kode"])
        if found["status"] != "pending":
            raise AppError("invalid_state")
        return found

    @rpc
    def list_registrations(self, actor, status="pending", cursor=None, limit=50):
        require_role(actor, "verifier", "admin")
        visible = [r for r in STATE["registrations"].values()
                   if actor["role"] == "admin" or r["instansi_kode"] == actor.get("instansi_kode")]
        items = [r for r in visible if r["status"] == status]
        return {"items": items, "next": None}

    @rpc
    def confirm_registration(self, nip, actor):
        self._registration(nip, actor)["status"] = "confirmed"
        STATE["calls"].append(("confirm", nip, actor["id"]))
        return {"status": "confirmed"}

    @rpc
    def reject_registration(self, nip, reason, actor):
        self._registration(nip, actor)["status"] = "rejected"
        STATE["calls"].append(("reject", nip, reason))
        return {"status": "rejected"}

    @rpc
    def list_submissions(self, actor, status="submitted", cursor=None, limit=50):
        return {"items": [{"nip": NIP_A, "nama": "Siti Rahayu", "submitted_at": "2015-10-01T09:00:00+07:00",
                           "anomaly_count": 1}], "next": None}

    @rpc
    def get_submission(self, nip, actor):
        require_instansi(actor, STATE["submissions"][nip]["instansi_kode"])
        return {"sections": {"data_utama": {"nama": "Siti Rahayu", "nik": "3273014101800001"},
                             "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "UNPAD", "tahun_lulus": 2003}]},
                "roster": {}, "changes": [{"section": "data_utama", "field": "nama", "from": "Siti Rahayo",
                                           "to": "Siti Rahayu"}],
                "anomalies": [{"code": "nik_nip_mismatch", "message": "NIK tidak sesuai tanggal lahir NIP"}],
                "documents": [{"document_id": STATE["submissions"][nip]["document_id"], "kind": "ijazah",
                               "filename": "ijazah.pdf"}]}

    @rpc
    def approve_submission(self, nip, actor):
        STATE["calls"].append(("approve", nip))
        return {"status": "verified"}

    @rpc
    def return_submission(self, nip, notes, actor):
        STATE["calls"].append(("return", nip, notes))
        return {"status": "returned"}


@pytest.fixture
def console(runner_factory, rabbit_config, db_prefix, monkeypatch):
    reset_state()
    runner_factory(rabbit_config, FakeIdentity, FakeVerification, DocumentsService).start()
    backend = Backend(rabbit_config["AMQP_URI"])
    yield Client(Console(backend))
    backend.close()


def login(client: Client, username: str = "verif_bdg", password: str = PASSWORD):
    return console_login(client, username, password)


def test_verifier_logs_in_and_confirms_a_registration_of_their_instansi(console):
    response = login(console)
    assert response.status_code == 303 and response.headers["Location"] == "/registrations"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("pupns_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie

    page = console.get("/registrations").get_data(as_text=True)
    assert "Pendaftaran menunggu konfirmasi" in page and "PUPNS-2015-AAAA1111" in page
    assert "PUPNS-2015-BBBB2222" not in page  # another instansi's registration is not listed

    done = console.post(f"/registrations/{NIP_A}/confirm", data={"csrf": csrf_of(page)}, follow_redirects=True)
    assert done.status_code == 200
    assert f"Pendaftaran NIP {NIP_A} telah dikonfirmasi." in done.get_data(as_text=True)
    assert STATE["calls"] == [("confirm", NIP_A, "verif_bdg")]


def test_post_without_csrf_token_changes_nothing(console):
    login(console)
    response = console.post(f"/registrations/{NIP_A}/confirm", data={"csrf": "forged"})
    assert response.status_code == 403 and "Formulir kedaluwarsa" in response.get_data(as_text=True)
    assert STATE["calls"] == []


def test_rejection_needs_a_reason_and_errors_are_shown_in_indonesian(console):
    login(console)
    csrf = csrf_of(console.get("/registrations").get_data(as_text=True))
    empty = console.post(f"/registrations/{NIP_A}/reject", data={"csrf": csrf, "alasan": " "})
    assert empty.status_code == 422 and "Alasan penolakan wajib diisi." in empty.get_data(as_text=True)
    other = console.post(f"/registrations/{NIP_B}/confirm", data={"csrf": csrf})
    assert other.status_code == 403 and "Anda tidak berwenang" in other.get_data(as_text=True)
    assert "Traceback" not in other.get_data(as_text=True)
    ok = console.post(f"/registrations/{NIP_A}/reject", data={"csrf": csrf, "alasan": "NIK tidak cocok"})
    assert ok.status_code == 303
    assert STATE["calls"] == [("reject", NIP_A, "NIK tidak cocok")]


def test_wrong_password_and_pns_accounts_are_refused(console):
    wrong = login(console, password="salah-sekali")
    assert wrong.status_code == 401 and "kata sandi salah" in wrong.get_data(as_text=True)
    pns = login(console, username=NIP_A)
    assert pns.status_code == 403 and "bukan akun verifikator" in pns.get_data(as_text=True)
    assert console.get("/registrations").status_code == 303


def test_forged_or_missing_session_goes_to_login(console):
    assert console.get("/registrations").headers["Location"] == "/login"
    console.set_cookie("pupns_console", "not-a-jwt")
    assert console.get("/submissions").headers["Location"] == "/login?pesan=sesi_berakhir"


def test_submission_detail_shows_changes_and_anomalies_and_can_be_returned(console, rabbit_config):
    with signed_proxy("documents", rabbit_config) as documents:
        pdf = b"%PDF-1.4\n%%EOF\n"
        STATE["submissions"][NIP_A]["document_id"] = documents.upload_document(
            NIP_A, "4011", "ijazah", "ijazah.pdf", base64.b64encode(pdf).decode(),
            {"id": NIP_A, "role": "pns", "instansi_kode": "4011"})["document_id"]
    login(console)
    listing = console.get("/submissions").get_data(as_text=True)
    assert f'href="/submissions/{NIP_A}"' in listing
    page = console.get(f"/submissions/{NIP_A}").get_data(as_text=True)
    assert "Siti Rahayo" in page and "NIK tidak sesuai tanggal lahir NIP" in page and "Riwayat Pendidikan" in page

    download = console.get(f"/documents/{STATE['submissions'][NIP_A]['document_id']}")
    assert download.status_code == 200 and download.data == pdf and download.mimetype == "application/pdf"

    csrf = csrf_of(page)
    nothing = console.post(f"/submissions/{NIP_A}/return", data={"csrf": csrf})
    assert nothing.status_code == 422 and "minimal satu bagian" in nothing.get_data(as_text=True)
    returned = console.post(f"/submissions/{NIP_A}/return", data={
        "csrf": csrf, "catatan_data_utama": "Perbaiki NIK", "catatan_riwayat_pendidikan": ""},
        follow_redirects=True)
    assert "telah dikembalikan dengan catatan" in returned.get_data(as_text=True)
    assert STATE["calls"] == [("return", NIP_A, {"data_utama": "Perbaiki NIK"})]


def test_values_are_escaped_and_health_answers(console):
    login(console, username="admin")
    page = console.get("/registrations").get_data(as_text=True)
    assert "Budi &lt;b&gt;Santoso&lt;/b&gt;" in page and "<b>Santoso" not in page
    assert console.get("/healthz").status_code == 200
    assert console.get("/tidak-ada").status_code == 404


def test_logout_clears_the_session(console):
    login(console)
    csrf = csrf_of(console.get("/registrations").get_data(as_text=True))
    out = console.post("/logout", data={"csrf": csrf}, follow_redirects=True)
    assert "Anda telah keluar." in out.get_data(as_text=True)
    assert console.get("/registrations").headers["Location"] == "/login"


def test_unreachable_backend_is_an_honest_503(db_prefix):
    client = Client(Console(Backend(f"amqp://guest:guest@127.0.0.1:5672/{uuid.uuid4().hex}", timeout=2)))
    page = client.get("/login").get_data(as_text=True)
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "x", "password": "y", "login_nonce": nonce})
    assert response.status_code == 503 and "tidak tersedia" in response.get_data(as_text=True)
