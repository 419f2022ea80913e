"""Every PNS page and every console page, seen at a phone's and a desktop's window size (headless Chromium).

Each page is screenshotted under var/artefacts/screens/<size>/ (git-ignored; PUPNS_TEST_ARTEFACTS moves
it), and must not scroll sideways, must label every form field, and must pass axe-core without a critical
or serious violation. Runs without eventlet (PUPNS_TEST_NO_EVENTLET=1), like the other browser tests.
"""
from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pupns_dev.waiting import wait_until
from tests.e2e.browser import BROWSER_MARKS
from tests.e2e.pagecheck import Survey

pytestmark = BROWSER_MARKS
PASSWORD = "rahasia-tampilan-123"
SIZES = {  # name -> (viewport, a phone's touch screen and meta-viewport handling)
    "ponsel": ({"width": 360, "height": 740}, True),
    "desktop": ({"width": 1366, "height": 900}, False),
}
ARTEFACTS = Path(os.environ.get("PUPNS_TEST_ARTEFACTS") or Path(__file__).resolve().parents[2] / "var" / "artefacts")


def look_at_daftar_refusing_and_waiting(page, check) -> None:
    """Daftar with a field refused in the browser, then in the edge's queue (the answer is a stand-in 503
    `queue`, as a full edge gives it; nothing reaches the platform)."""
    from playwright.sync_api import expect

    page.get_by_label("NIP").fill("199001012015031001")
    page.get_by_label("NIK").fill("3171010101900001")
    page.get_by_label("E-mail").fill("contoh@contoh.go.id")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Konfirmasi kata sandi").fill(PASSWORD + "-lain")
    page.get_by_role("button", name="Daftar").click()
    expect(page.get_by_label("Konfirmasi kata sandi")).to_have_attribute("aria-invalid", "true")
    check("daftar-galat")

    def queue(route) -> None:
        route.fulfill(status=503, headers={"Retry-After": "60"}, content_type="application/json",
                      body='{"error": {"code": "queue", "message": "Antrean"}, '
                           '"queue": {"ticket": "tiket-uji", "position": 42, "retry_after": 60}}')
    page.route("**/api/v1/registrations", queue)
    try:
        page.get_by_label("Konfirmasi kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Daftar").click()
        expect(page.locator("#antrean")).to_contain_text("Posisi Anda dalam antrean: 42")
        check("daftar-antrean")
    finally:
        page.unroute("**/api/v1/registrations", queue)


def walk_pns_pages(page, check, edge_url: str, nip: str) -> None:
    """Beranda, Daftar (also refusing a field and waiting in line) and Masuk as a visitor; then logged in,
    Status saya and Formulir (with an open row and a refused phone number, so the error state is looked at)."""
    from playwright.sync_api import expect

    page.goto(f"{edge_url}/")
    expect(page.get_by_role("link", name="Daftar sekarang")).to_be_visible()
    check("beranda")
    page.goto(f"{edge_url}/daftar")
    expect(page.get_by_role("heading", name="Pendaftaran PNS")).to_be_visible()
    check("daftar")
    look_at_daftar_refusing_and_waiting(page, check)
    page.goto(f"{edge_url}/masuk")
    page.get_by_label("NIP").fill(nip)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    check("masuk")
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{edge_url}/status")
    expect(page.locator("#status-nip")).to_have_text(nip)
    expect(page.locator("#linimasa li").first).to_be_visible()
    check("status")

    page.get_by_role("link", name="Buka formulir").click()
    utama = page.locator("#bagian-data_utama")
    expect(utama.get_by_label("Nama lengkap")).not_to_have_value("")
    diklat = page.locator("#bagian-riwayat_diklat")
    diklat.get_by_role("button", name="Tambah diklat").click()
    expect(diklat.get_by_role("group", name="Diklat 1").get_by_label("Nama diklat")).to_be_focused()
    utama.get_by_label("Nomor HP").fill("12345")
    utama.get_by_role("button", name="Simpan bagian ini").click()
    expect(utama.get_by_label("Nomor HP")).to_have_attribute("aria-invalid", "true")
    check("formulir")


def log_in_to_console(page, console_url: str, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(f"{console_url}/registrations")


def walk_verifier_pages(page, check, console_url: str, verifier: dict, pending_nip: str, submitted_nip: str) -> None:
    """Login, pending registrations, submissions and one submission's detail, Ganti kata sandi (and its refusal),
    then Keluar."""
    from playwright.sync_api import expect

    page.goto(f"{console_url}/login")
    check("konsol-masuk")
    log_in_to_console(page, console_url, verifier["username"], verifier["password"])
    expect(page.get_by_role("row").filter(has_text=pending_nip)).to_be_visible()
    check("konsol-pendaftaran")
    page.get_by_role("link", name="Pengajuan data").click()
    expect(page.get_by_role("link", name=submitted_nip)).to_be_visible()
    check("konsol-pengajuan")
    page.get_by_role("link", name=submitted_nip).click()
    expect(page.get_by_role("heading", name=f"Pengajuan data NIP {submitted_nip}")).to_be_visible()
    check("konsol-pengajuan-rinci")
    page.get_by_role("link", name="Ganti kata sandi").click()
    expect(page.get_by_role("heading", name="Ganti kata sandi")).to_be_visible()
    check("konsol-kata-sandi")
    page.get_by_label("Kata sandi saat ini").fill(verifier["password"])  # a refused change: nothing is changed
    page.get_by_label("Kata sandi baru", exact=True).fill("kata-sandi-baru-789")
    page.get_by_label("Ulangi kata sandi baru").fill("kata-sandi-lain-789")
    page.get_by_role("button", name="Ganti kata sandi").click()
    expect(page.get_by_label("Ulangi kata sandi baru")).to_have_attribute("aria-invalid", "true")
    check("konsol-kata-sandi-galat")
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("status")).to_have_text("Anda telah keluar.")


def watch_the_job_end(page, check, job_url: str) -> None:
    """The job page while its job runs, then the same page updating itself in place to the result.

    The demo import ends within a second, so the page is first answered with the console's own view of a
    running job; the page's script polls, and its polls are held until that state has been looked at, then
    reach the console, which has the ended job."""
    from playwright.sync_api import expect

    from console.job_views import job_page

    running = {"kind": "roster_import", "status": "running", "progress": {"done": 12, "total": 60},
               "created_at": datetime.now(UTC).isoformat()}
    held: list = []
    holding = True

    def serve(route, request) -> None:
        if not holding:
            route.continue_()
        elif request.resource_type == "document":
            route.fulfill(content_type="text/html; charset=utf-8",
                          body=job_page({"sub": "admin", "role": "admin"}, "-", running))
        else:
            held.append(route)  # answered below, once the running state has been looked at

    def is_job(url: str) -> bool:
        return url.split("?")[0] == job_url.split("?")[0]

    def polled() -> bool:
        page.evaluate("0")  # a round trip to the browser lets Playwright hand the page's poll to `serve`
        return bool(held)
    page.route(is_job, serve)
    try:
        page.goto(job_url)
        expect(page.locator("progress#job-progress")).to_have_attribute("value", "12")
        expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
        check("admin-pekerjaan-berjalan")
        wait_until(polled, timeout=10, interval=0.1, message="the job page polls")
        page.evaluate("window.notReloaded = true")
        holding = False
        for route in held:
            route.continue_()
        expect(page.get_by_role("status")).to_contain_text("Impor selesai")
        assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
        check("admin-pekerjaan")
    finally:
        page.unroute(is_job)


def walk_admin_pages(page, check, cfg, roster: Path, audit_nip: str, job_url: str | None) -> str:
    """Dashboard, campaign (and the question before closing it), verifiers, roster upload, a roster-import
    job (started on the first walk) running and ended, audit history and the hash-chain check, and the page
    for an unknown path."""
    from playwright.sync_api import expect

    console_url = cfg.console_url
    log_in_to_console(page, console_url, "admin", cfg.admin_password)
    page.get_by_role("link", name="Administrasi").click()
    expect(page.get_by_role("heading", name="Progres pendataan")).to_be_visible()
    check("admin-progres")
    page.get_by_role("link", name="Kampanye").click()
    expect(page.get_by_role("heading", name="Kampanye", exact=True)).to_be_visible()
    check("admin-kampanye")
    page.get_by_role("button", name="Tutup kampanye…").click()  # a GET: only asks to confirm
    expect(page.get_by_role("heading", name="Tutup kampanye?")).to_be_visible()
    check("admin-tutup-kampanye")
    page.get_by_role("link", name="Batal").click()
    page.get_by_role("link", name="Verifikator").click()
    expect(page.get_by_role("heading", name="Akun verifikator", exact=True)).to_be_visible()
    check("admin-verifikator")
    page.get_by_role("link", name="Data induk").click()
    expect(page.get_by_label("Berkas CSV")).to_be_visible()
    check("admin-data-induk")
    if job_url is None:  # re-importing the demo roster changes nothing: every row is "unchanged"
        page.get_by_label("Berkas CSV").set_input_files(str(roster))
        page.get_by_role("button", name="Impor").click()
        expect(page).to_have_url(re.compile(r"/admin/pekerjaan/identity-[0-9a-f]{32}\?berkas="))
        job_url = page.url
        expect(page.get_by_role("status")).to_contain_text("Impor selesai", timeout=60_000)
    watch_the_job_end(page, check, job_url)
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("NIP").fill(audit_nip)
    page.get_by_role("button", name="Tampilkan riwayat").click()
    expect(page.get_by_role("heading", name=f"Riwayat peristiwa NIP {audit_nip}")).to_be_visible()
    check("admin-audit")
    page.get_by_role("button", name="Periksa rantai hash").click()
    expect(page.get_by_role("status")).to_contain_text("Semua rantai hash utuh")
    check("admin-rantai-hash")
    page.goto(f"{console_url}/tidak-ada")
    expect(page.get_by_role("alert")).to_have_text("Halaman tidak ditemukan.")
    check("konsol-tidak-ditemukan")
    return job_url


def test_every_page_fits_a_phone_labels_its_fields_and_passes_axe(stack, platform, browser):
    cfg, demo = stack
    draft = platform.take_row()
    platform.confirmed_pns(draft, PASSWORD)
    submitted, pending = platform.take_rows_of_one_instansi(2)
    kode = submitted["instansi_kode"]
    platform.submitted_pns(submitted)
    platform.register(pending)
    platform.wait_pending(pending)

    shutil.rmtree(ARTEFACTS / "screens", ignore_errors=True)
    survey = Survey(ARTEFACTS / "screens")
    job_url = None
    for size, (viewport, phone) in SIZES.items():
        context = browser.new_context(locale="id-ID", viewport=viewport, is_mobile=phone, has_touch=phone)
        errors: list[str] = []
        context.on("weberror", lambda error, errors=errors: errors.append(str(error.error)))
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            walk_pns_pages(page, survey.checker(page, size, viewport["width"]), cfg.edge_url, draft["nip"])
            page = context.new_page()  # a fresh tab: the PNS's session (sessionStorage) stays behind
            page.set_default_timeout(20_000)
            check = survey.checker(page, size, viewport["width"])
            walk_verifier_pages(page, check, cfg.console_url, demo["verifiers"][kode], pending["nip"],
                                submitted["nip"])
            job_url = walk_admin_pages(page, check, cfg, demo["roster"], submitted["nip"], job_url)
        finally:
            context.close()
        assert errors == [], f"{size}: script errors {errors}"

    report = survey.write_report()
    print(f"screenshots and report: {report.parent}")
    print("\n".join(["axe, moderate and minor (not failing):", *survey.remarks]))
    assert len(survey.pages) == 2 * 23
    assert survey.problems == [], "\n".join(survey.problems)


BAD_PAGE = """<!doctype html><html><head><title>Buruk</title></head><body><main><h1>Buruk</h1>
<p style="color:#bbb;background:#fff">Teks pucat</p><input name="tanpa-label" placeholder="NIP"><input name="kosong">
<button></button><div style="width:900px">Lebar</div></main></body></html>"""


def test_the_page_check_finds_what_it_looks_for(browser, tmp_path):
    """The checks above can fail: a page with each fault is caught (no stack needed)."""
    survey = Survey(tmp_path)
    context = browser.new_context(viewport=SIZES["ponsel"][0])
    try:
        page = context.new_page()
        page.set_content(BAD_PAGE)
        survey.check(page, "buruk", "ponsel", SIZES["ponsel"][0]["width"])
    finally:
        context.close()
    found = "\n".join(survey.problems)
    assert "scrolls sideways, 9" in found and "div (right 9" in found
    # axe-core takes a placeholder for a name; the survey's own check wants a label a sighted user sees too
    assert 'form field without a label: <input name="tanpa-label"' in found
    assert 'form field without a label: <input name="kosong"' in found
    for rule in ("html-has-lang (serious)", "color-contrast (serious)", "button-name (critical)", "label (critical)"):
        assert f"axe {rule}" in found, found
    assert (tmp_path / "ponsel" / "01-buruk.png").stat().st_size > 0


def test_the_edge_waiting_page_reads_well_on_a_phone(browser, tmp_path):
    """The page a browser gets from a full edge (no stack needed: the edge's own rendering)."""
    from edge.surge.waiting import waiting_page

    survey = Survey(tmp_path)
    viewport, phone = SIZES["ponsel"]
    context = browser.new_context(locale="id-ID", viewport=viewport, is_mobile=phone, has_touch=phone)
    try:
        page = context.new_page()
        body = waiting_page({"ticket": "tiket-uji", "position": 1234, "retry_after": 45}).get_data(True)
        page.set_content(body)
        assert page.get_by_text("1234").is_visible()
        # Its timed reload is the spec's ("a waiting page that refreshes itself": the browser keeps its place
        # in line without a script) and the page holds nothing a reload could lose (no form, no focus), so
        # axe-core's meta-refresh rule, which forbids any timed reload, is not asked about it.
        survey.check(page, "antrean-edge", "ponsel", viewport["width"], rules_off=("meta-refresh",))
    finally:
        context.close()
    assert survey.problems == [], "\n".join(survey.problems)
    assert survey.remarks == [], "\n".join(survey.remarks)
