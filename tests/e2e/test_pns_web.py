"""A PNS goes through the public web pages (headless Chromium) against the whole running platform.

Registers on "Daftar" and fetches the receipt, is told on "Masuk" that the registration awaits the BKD,
logs in once the verifier has confirmed (over the API), corrects "Nomor HP" and "Alamat" (after an
invalid phone number is refused inline and nothing is stored), adds a training record, submits, and
sees "Dikirim" on "Status saya". Runs without eventlet (PUPNS_TEST_NO_EVENTLET=1), like the console test.
"""
from __future__ import annotations

import json
from pathlib import Path

from pupns_dev.waiting import wait_until
from tests.e2e.browser import BROWSER_MARKS, bearer

pytestmark = BROWSER_MARKS
PASSWORD = "rahasia-web-pns-1"
PHONE = {"width": 390, "height": 844}  # the pages must work on a phone-width screen


def test_pns_registers_corrects_data_and_submits_in_the_browser(stack, platform, api, browser, tmp_path):
    from playwright.sync_api import expect

    cfg, demo = stack
    row = platform.take_row(lambda r: not any(word in r["jabatan"] for word in ("Guru", "Dokter")))
    nip = row["nip"]
    page = browser.new_page(locale="id-ID", viewport=PHONE)
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # -- Daftar, with the edge turning the first attempt away (503 queue) ------------------------
    presented: list[str | None] = []

    def queue_once(route, request):
        presented.append(request.headers.get("x-queue-ticket"))
        if len(presented) == 1:
            route.fulfill(status=503, headers={"Retry-After": "2", "Content-Type": "application/json"},
                          body='{"error": {"code": "queue", "message": "Antrean"}, '
                               '"queue": {"ticket": "tiket-uji", "position": 3, "retry_after": 2}}')
        else:
            route.continue_()
    page.route("**/api/v1/registrations", queue_once)
    page.goto(f"{cfg.edge_url}/")
    expect(page.get_by_role("button", name="Keluar")).to_be_hidden()
    page.get_by_role("link", name="Daftar sekarang").click()
    expect(page.get_by_role("heading", name="Pendaftaran PNS")).to_be_visible()
    page.get_by_label("NIP").fill(nip)
    page.get_by_label("NIK").fill(row["nik"])
    page.get_by_label("E-mail").fill(f"{nip}@contoh.go.id")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Konfirmasi kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Daftar").click()
    waiting = page.locator("#antrean")
    expect(waiting).to_contain_text("Posisi Anda dalam antrean: 3")
    expect(waiting).to_contain_text("Perkiraan waktu tunggu: sekitar 2 detik")
    page.screenshot(path=str(tmp_path / "antrean.png"))
    expect(page.get_by_role("heading", name="Pendaftaran berhasil")).to_be_visible()
    expect(waiting).to_be_hidden()
    assert presented == [None, "tiket-uji"]  # the retry came by itself and presented the ticket
    number = page.locator("#hasil-nomor").inner_text()
    assert number.startswith("PUPNS-")
    expect(page.locator("#hasil")).to_contain_text("menunggu konfirmasi verifikator BKD")
    page.screenshot(path=str(tmp_path / "daftar.png"), full_page=True)
    receipt = page.get_by_role("link", name="Unduh tanda terima pendaftaran (PDF)").get_attribute("href")
    fetched = api.get(receipt.replace(cfg.edge_url, ""))
    assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF")

    # -- Masuk before the BKD confirmed: explained, not a bare error ------------------------------
    page.get_by_role("link", name="Ke halaman Masuk").click()
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_label("NIP").fill(nip)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_contain_text("belum dikonfirmasi verifikator")

    platform.wait_pending(row)
    confirmed = api.post(f"/api/v1/verifier/registrations/{nip}/confirm",
                         headers=platform.verifier(row["instansi_kode"]))
    assert confirmed.status_code == 200, confirmed.text
    pns = bearer(platform.token(nip, PASSWORD))  # waits until the confirmation reached identity
    wait_until(lambda: api.get("/api/v1/me/form", headers=pns).status_code == 200, timeout=30, interval=0.2,
               message="form opened")

    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{cfg.edge_url}/status")
    expect(page.locator("#status-nip")).to_have_text(nip)
    assert page.evaluate("Object.keys(localStorage).length") == 0
    assert page.evaluate("sessionStorage.getItem('pupns.token')")

    # -- Formulir: an invalid phone number is refused inline and nothing is stored --------------------
    page.get_by_role("link", name="Buka formulir").click()
    utama = page.locator("#bagian-data_utama")
    expect(utama.get_by_label("Nama lengkap")).to_have_value(row["nama"])
    before = api.get("/api/v1/me/form", headers=pns).json()
    utama.get_by_label("Nomor HP").fill("12345")
    utama.get_by_role("button", name="Simpan bagian ini").click()
    expect(utama.locator(".field-error")).to_contain_text("nomor HP harus diawali +62 atau 08")
    expect(utama.get_by_label("Nomor HP")).to_have_attribute("aria-invalid", "true")
    utama.screenshot(path=str(tmp_path / "galat.png"))
    after = api.get("/api/v1/me/form", headers=pns).json()
    assert after["version"] == before["version"] and after["sections"]["data_utama"] == before["sections"]["data_utama"]

    utama.get_by_label("Nomor HP").fill("081234567890")
    utama.get_by_label("Alamat", exact=True).fill("Jl. Pemuda No. 7, Semarang")
    utama.get_by_role("button", name="Simpan bagian ini").click()
    expect(utama.get_by_role("status")).to_contain_text("tersimpan")
    expect(utama.locator(".field-error")).to_have_count(0)

    diklat = page.locator("#bagian-riwayat_diklat")
    diklat.get_by_role("button", name="Tambah diklat").click()
    entry = diklat.get_by_role("group", name="Diklat 1")
    expect(entry.get_by_label("Nama diklat")).to_be_focused()
    entry.get_by_label("Nama diklat").fill("Diklat Kepemimpinan Tingkat IV")
    entry.get_by_label("Jenis diklat").fill("Struktural")
    entry.get_by_label("Tahun").fill("2020")
    entry.get_by_label("Jam pelajaran").fill("120")
    diklat.get_by_role("button", name="Simpan bagian ini").click()
    expect(diklat.get_by_role("status")).to_contain_text("tersimpan")
    page.screenshot(path=str(tmp_path / "formulir.png"), full_page=True)

    page.get_by_label("Saya menyatakan").check()
    page.get_by_role("button", name="Kirim formulir").click()
    expect(page.locator("#keadaan")).to_contain_text("berhasil dikirim")
    expect(utama.get_by_label("Nomor HP")).to_be_disabled()

    stored = api.get("/api/v1/me/form", headers=pns).json()
    assert stored["status"] == "submitted"
    assert stored["sections"]["data_utama"]["no_hp"] == "081234567890"
    assert stored["sections"]["data_utama"]["alamat"] == "Jl. Pemuda No. 7, Semarang"
    assert stored["sections"]["riwayat_diklat"] == [{"nama": "Diklat Kepemimpinan Tingkat IV", "jenis": "Struktural",
                                                     "tahun": 2020, "jam_pelajaran": 120}]

    # -- Status saya ----------------------------------------------------------------------------------
    def shows_submitted() -> bool:
        page.goto(f"{cfg.edge_url}/status")
        page.locator("#status-kata").wait_for()
        return page.locator("#status-kata").inner_text() == "Dikirim"
    wait_until(shows_submitted, timeout=30, interval=0.5, message="status page shows Dikirim")
    expect(page.locator("#linimasa")).to_contain_text("Formulir dikirim")
    page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Cetak profil (PDF)").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as download:
        page.get_by_role("button", name="Unduh semua data saya").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["nip"] == row["nip"] and exported["form"]["sections"]["data_utama"]["no_hp"] == "081234567890"
    assert exported["roster"]["nip"] == row["nip"] and exported["timeline"]
    assert errors == []
    print("screenshots:", tmp_path)


def test_before_its_script_runs_no_credential_form_can_be_sent(stack, browser):
    """A slow phone: a tap or Enter before the page's module has run must not send the form natively (a GET would put
    the NIK or the password into the address, the history and the logs); once the module runs, the form works."""
    from playwright.sync_api import expect

    cfg, _ = stack
    for path, button, field in (("/daftar", "Daftar", "NIK"), ("/masuk", "Masuk", "NIP")):
        page = browser.new_page(locale="id-ID", viewport=PHONE)
        page.set_default_timeout(20_000)
        page.route("**/*.js", lambda route, request: route.abort())  # the module never arrives
        page.goto(f"{cfg.edge_url}{path}")
        expect(page.get_by_role("button", name=button)).to_be_disabled()
        page.get_by_label(field).fill("3201011501900001")
        page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
        page.get_by_label("Kata sandi", exact=True).press("Enter")  # implicit submission
        page.get_by_role("button", name=button).click(force=True)  # a tap on the disabled button
        assert page.url == f"{cfg.edge_url}{path}", page.url
        page.unroute("**/*.js")
        page.reload()
        expect(page.get_by_role("button", name=button)).to_be_enabled()
        page.close()
