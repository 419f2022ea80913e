"""Administrator pages of the console over real RabbitMQ RPC and the real services, via Werkzeug's Client:
roster upload, progress picture and table, campaign schedule and close, verifier accounts, audit."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from werkzeug.test import Client

from console.app import Console
from console.rpc import Backend
from documents.service import DocumentsService
from forms.service import FormsService
from identity.service import IdentityService
from notifications.service import NotificationsService
from pupns.errors import AppError
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev.waiting import wait_until
from tests.integration.pages import console_login, csrf_of, text
from tests.rpc import signed_proxy
from verification.service import VerificationService

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
ADMIN_PASSWORD = "rahasia-admin-bkn-1"
PNS_PASSWORD = "rahasia-negara-1"
SEED = 11  # instansi 3204, K024, K024, 3273, 3204, 3273
BAD_ROW_NIP = "123"


@pytest.fixture
def rows():
    return list(generate_rows(6, seed=SEED))


@pytest.fixture
def identity(runner_factory, rabbit_config, db_prefix):
    runner_factory(rabbit_config, IdentityService, FormsService, VerificationService, DocumentsService,
                   NotificationsService).start()
    with signed_proxy("identity", rabbit_config, timeout=60) as proxy:
        proxy.bootstrap_admin(ADMIN_PASSWORD)
        yield proxy


@pytest.fixture
def console(identity, rabbit_config):
    backend = Backend(rabbit_config["AMQP_URI"], timeout=60)
    yield Client(Console(backend))
    backend.close()


def login(client: Client, username: str = "admin", password: str = ADMIN_PASSWORD):
    return console_login(client, username, password)


def table_row(page: str, instansi: str) -> list[int]:
    """The numbers of one instansi's row in the progress table."""
    row = re.search(rf'<th scope="row">{re.escape(instansi)}</th>(.*?)</tr>', page, re.S).group(1)
    return [int(v.replace(".", "")) for v in re.findall(r'<td class="num">([\d.]+)</td>', row)]


def finished_job_page(client: Client, started):
    """Follow a job page (it updates itself while the job runs) until the job has ended."""
    assert started.status_code == 303 and started.headers["Location"].startswith("/admin/pekerjaan/identity-")
    seen: list[str] = []

    def ended():
        page = client.get(started.headers["Location"])
        seen.append(text(page))
        return page if re.search(r'<div id="job" data-status="(done|failed)">', seen[-1]) else None
    page = wait_until(ended, timeout=30, interval=0.1, message="job finished")
    assert '<progress id="job-progress"' in seen[0]
    return page


def upload_roster(client: Client, csv_text: str):
    csrf = csrf_of(text(client.get("/admin/data-induk")))
    return finished_job_page(client, client.post("/admin/data-induk", content_type="multipart/form-data", data={
        "csrf": csrf, "berkas": (io.BytesIO(csv_text.encode()), "data-induk.csv", "text/csv")}))


def open_campaign(identity) -> None:
    now = datetime.now().astimezone()
    identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                           "closes_at": (now + timedelta(days=30)).isoformat()}, ADMIN)


def with_bad_row(csv_text: str) -> str:
    header, first = csv_text.splitlines()[:2]
    bad = dict(zip(header.split(","), first.split(","), strict=True))
    bad["nip"] = BAD_ROW_NIP
    return csv_text + ",".join(bad.values()) + "\n"


def test_admin_uploads_roster_and_reads_progress_as_a_picture(console, identity, rows):
    assert login(console).status_code == 303
    assert 'href="/admin">Administrasi</a>' in text(console.get("/registrations"))
    imported = upload_roster(console, with_bad_row(roster_csv(6, seed=SEED)))
    page = text(imported)
    assert imported.status_code == 200 and "Hasil impor data-induk.csv" in page
    assert re.search(r"Dimuat \(baru atau berubah\)</th><td class=\"num\">6<", page)
    rejected = re.search(r"<h3>Baris yang ditolak</h3><table>.*?</table>", page, re.S).group(0)
    assert ">8<" in rejected and ">nip<" in rejected  # line 8 (header is line 1), column, reason
    again = text(upload_roster(console, roster_csv(6, seed=SEED)))
    assert re.search(r"Tidak berubah</th><td class=\"num\">6<", again)

    open_campaign(identity)
    identity.register({"nip": rows[0]["nip"], "nik": rows[0]["nik"], "email": "pns@example.go.id",
                       "password": PNS_PASSWORD})
    dashboard = console.get("/admin")
    page = text(dashboard)
    assert dashboard.status_code == 200 and 'http-equiv="refresh"' not in page and '<a href="/admin">perbarui' in page
    svg = re.search(r"<svg class=\"chart\".*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title id=\"chart-title\">" in svg and "<desc id=\"chart-desc\">" in svg
    assert "Terverifikasi" in svg and "Belum mendaftar" in svg  # the legend
    for kode in ("3204", "K024", "3273"):
        assert f'class="lbl">{kode}</text>' in svg
    # roster, registered, confirmed, submitted, verified, returned, not_reregistered, anomalies, selundupan
    assert table_row(page, "3204")[:7] == [2, 1, 0, 0, 0, 0, 0]
    assert table_row(page, "K024")[:7] == [2, 0, 0, 0, 0, 0, 0]
    assert "3204: Menunggu konfirmasi pendaftaran 1 dari 2 (50 %)" in svg
    assert re.search(r"<tfoot>.*?<td class=\"num\">6</td><td class=\"num\">1</td>", page, re.S)


def test_verifier_gets_403_on_admin_pages_and_csrf_is_enforced(console, identity, rows):
    identity.import_roster(roster_csv(6, seed=SEED), ADMIN)
    login(console)
    page = text(console.get("/admin/verifikator"))
    assert '<option value="3204">' in page and '<option value="unknown">' not in page
    csrf = csrf_of(page)
    weak = console.post("/admin/verifikator", data={"csrf": csrf, "username": "verif.bdg", "password": "123",
                                                    "instansi_kode": "3204"})
    assert weak.status_code == 422 and 'id="err-password"' in text(weak) and "Traceback" not in text(weak)
    assert 'value="verif.bdg"' in text(weak) and '<option value="3204" selected>' in text(weak)
    forged = console.post("/admin/verifikator", data={"csrf": "palsu", "username": "verif.bdg",
                                                      "password": "kata-sandi-kuat-1", "instansi_kode": "3204"})
    assert forged.status_code == 403 and "Formulir kedaluwarsa" in text(forged)
    with pytest.raises(AppError):
        identity.issue_token("verif.bdg", "kata-sandi-kuat-1")  # the forged post created nothing
    created = console.post("/admin/verifikator", data={"csrf": csrf, "username": "verif.bdg",
                                                       "password": "kata-sandi-kuat-1", "instansi_kode": "3204"},
                           follow_redirects=True)
    assert "Akun verifikator verif.bdg untuk instansi 3204 telah dibuat." in text(created)
    taken = console.post("/admin/verifikator", data={"csrf": csrf, "username": "verif.bdg",
                                                     "password": "kata-sandi-kuat-1", "instansi_kode": "3204"})
    assert taken.status_code == 409 and "sudah dipakai" in text(taken)

    console.post("/logout", data={"csrf": csrf})
    assert login(console, "verif.bdg", "kata-sandi-kuat-1").status_code == 303
    listing = text(console.get("/registrations"))
    assert "Administrasi" not in listing
    for path in ("/admin", "/admin/kampanye", "/admin/verifikator", "/admin/data-induk", "/admin/audit",
                 "/admin/kampanye/tutup"):
        denied = console.get(path)
        assert denied.status_code == 403 and "hanya untuk administrator" in text(denied), path
    closing = console.post("/admin/kampanye/tutup", data={"csrf": csrf_of(listing)})
    assert closing.status_code == 403 and identity.get_campaign()["closes_at"] is None


def test_admin_schedules_extends_and_closes_the_campaign(console, identity, rows):
    identity.import_roster(roster_csv(6, seed=SEED), ADMIN)
    login(console)
    page = text(console.get("/admin/kampanye"))
    assert "Kampanye belum pernah dijadwalkan." in page
    csrf = csrf_of(page)
    backwards = console.post("/admin/kampanye", data={"csrf": csrf, "opens_at": "2015-12-31T23:59",
                                                      "closes_at": "2015-09-01T00:00"})
    assert backwards.status_code == 422 and 'id="err-closes_at"' in text(backwards)
    blank = console.post("/admin/kampanye", data={"csrf": csrf, "opens_at": "", "closes_at": "kemarin"})
    assert blank.status_code == 422 and "isi tanggal dan jam (WIB)" in text(blank)
    forged = console.post("/admin/kampanye", data={"csrf": "x", "opens_at": "2015-09-01T00:00",
                                                   "closes_at": "2015-12-31T23:59"})
    assert forged.status_code == 403 and identity.get_campaign()["opens_at"] is None

    now = datetime.now().astimezone()
    wib = now.astimezone(datetime.fromisoformat("2000-01-01T00:00+07:00").tzinfo)
    opens, closes = (wib - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), (wib + timedelta(days=30))
    saved = console.post("/admin/kampanye", data={"csrf": csrf, "opens_at": opens,
                                                  "closes_at": closes.strftime("%Y-%m-%dT%H:%M")},
                         follow_redirects=True)
    assert "Jadwal kampanye telah disimpan." in text(saved) and 'class="open">dibuka' in text(saved)
    campaign = identity.get_campaign()
    assert campaign["is_open"] and datetime.fromisoformat(campaign["opens_at"]) == datetime.fromisoformat(
        f"{opens}+07:00")
    assert f'value="{opens}"' in text(saved)  # the form shows the window back in WIB

    identity.register({"nip": rows[0]["nip"], "nik": rows[0]["nik"], "email": "pns@example.go.id",
                       "password": PNS_PASSWORD})
    confirm = text(console.get("/admin/kampanye/tutup"))
    assert "Sekitar <strong>6</strong>" in confirm and "Ya, tutup kampanye sekarang" in confirm
    assert identity.get_campaign()["is_open"]  # the confirmation page changes nothing
    closed = finished_job_page(console, console.post("/admin/kampanye/tutup", data={"csrf": csrf}))
    assert closed.status_code == 200 and "Kampanye telah ditutup." in text(closed)
    assert '<progress id="job-progress" value="6" max="6"' in text(closed)
    assert re.search(r'<strong class="big">6</strong>', text(closed))
    assert not identity.get_campaign()["is_open"]
    wait_until(lambda: identity.progress(ADMIN)["totals"]["not_reregistered"] == 6, message="all marked")
    assert table_row(text(console.get("/admin")), "3204")[6] == 2


def test_audit_page_lists_merged_events_and_admin_actions(console, identity, rows):
    identity.import_roster(roster_csv(6, seed=SEED), ADMIN)
    open_campaign(identity)
    nip = rows[0]["nip"]
    identity.register({"nip": nip, "nik": rows[0]["nik"], "email": "pns@example.go.id", "password": PNS_PASSWORD})
    login(console)
    assert console.get("/admin/audit?nip=12345").status_code == 422

    def audited() -> str | None:
        body = text(console.get(f"/admin/audit?nip={nip}"))
        return body if "RegistrationReceived" in body and "ContactRecorded" in body else None
    page = wait_until(audited, timeout=30, message="events of identity, verification, notifications")
    assert f"Riwayat peristiwa NIP {nip}" in page and "RosterEntryImported" in page
    assert "RegistrationSubmitted" in page and "WIB</time>" in page and "password_hash" not in page
    assert "menunggu konfirmasi" in page  # current status
    assert re.search(r"<code title=\"[0-9a-f]{64}\">[0-9a-f]{12}</code>", page)
    csrf = csrf_of(page)

    blank = console.post(f"/admin/audit/{nip}/pulihkan", data={"csrf": csrf, "alasan": " "})
    assert blank.status_code == 422 and "Alasan wajib diisi." in text(blank)
    not_sanctioned = console.post(f"/admin/audit/{nip}/pulihkan", data={"csrf": csrf, "alasan": "Salah tandai"})
    assert not_sanctioned.status_code == 409 and "Riwayat peristiwa" in text(not_sanctioned)
    not_verified = console.post(f"/admin/audit/{nip}/buka-kembali", data={"csrf": csrf, "alasan": "Koreksi"})
    assert not_verified.status_code in (404, 409) and "Traceback" not in text(not_verified)

    identity.close_campaign(ADMIN)  # a job: the mark follows
    wait_until(lambda: identity.get_me(nip)["status"] == "not_reregistered", message="sanctioned")
    reinstated = console.post(f"/admin/audit/{nip}/pulihkan", data={"csrf": csrf, "alasan": "Berkas terlambat"},
                              follow_redirects=True)
    assert f"Sanksi NIP {nip} telah dicabut (dipulihkan)." in text(reinstated)
    assert "Reinstated" in text(reinstated) and "reason=Berkas terlambat" in text(reinstated)

    chain = console.post("/admin/audit/rantai", data={"csrf": csrf})
    assert chain.status_code == 200 and "Semua rantai hash utuh" in text(chain)
    checked = int(re.search(r"Peristiwa diperiksa</th><td class=\"num\">([\d.]+)<", text(chain)).group(1)
                  .replace(".", ""))
    assert checked >= 8


def test_an_administrator_disables_and_enables_a_verifier_in_the_console(console, identity, rows):
    identity.import_roster(roster_csv(6, seed=SEED), ADMIN)
    identity.create_verifier({"username": "verif.dps", "password": "kata-sandi-kuat-1", "instansi_kode": "3204"},
                             ADMIN)
    login(console)
    page = text(console.get("/admin/verifikator"))
    assert re.search(r"<td>verif\.dps</td><td>[^<]+</td><td>Aktif</td>", page)
    csrf = csrf_of(page)
    no_reason = console.post("/admin/verifikator/verif.dps/status", data={"csrf": csrf, "aktif": "0", "alasan": ""})
    assert no_reason.status_code == 422
    done = console.post("/admin/verifikator/verif.dps/status",
                        data={"csrf": csrf, "aktif": "0", "alasan": "Pindah tugas"}, follow_redirects=True)
    assert "Akun verif.dps telah dinonaktifkan" in text(done)
    assert re.search(r"<td>verif\.dps</td><td>[^<]+</td><td>Nonaktif</td>", text(done))
    with pytest.raises(AppError) as refused:
        identity.issue_token("verif.dps", "kata-sandi-kuat-1")
    assert refused.value.code == "forbidden"
    console.post("/admin/verifikator/verif.dps/status", data={"csrf": csrf, "aktif": "1", "alasan": "Kembali"})
    assert identity.issue_token("verif.dps", "kata-sandi-kuat-1")["role"] == "verifier"
