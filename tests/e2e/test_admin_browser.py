"""An administrator works in the real console (headless Chromium) against the whole running platform:
the progress dashboard with its picture, then the audit history of a PNS who just registered.

Runs without eventlet (PUPNS_TEST_NO_EVENTLET=1): Playwright's sync API cannot run inside the
eventlet-patched session.
"""
from __future__ import annotations

import re

from tests.e2e.browser import BROWSER_MARKS
from tests.e2e.conftest import bearer

pytestmark = BROWSER_MARKS


def test_admin_reads_the_dashboard_and_audits_a_pns(stack, platform, browser, api, tmp_path):
    from playwright.sync_api import expect

    cfg, demo = stack
    row = platform.take_row()
    platform.register(row)
    platform.wait_pending(row)

    page = browser.new_page(locale="id-ID", viewport={"width": 1280, "height": 900})
    errors: list[str] = []  # CSP violations and failed requests (the browser's own favicon probe aside)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda resp: errors.append(f"{resp.status} {resp.url}") if resp.status >= 400
            and not resp.url.endswith("/favicon.ico") else None)
    page.goto(f"{cfg.console_url}/login")
    page.get_by_label("Nama pengguna").fill("admin")
    page.get_by_label("Kata sandi").fill(cfg.admin_password)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("link", name="Administrasi").click()

    expect(page.get_by_role("heading", name="Progres pendataan")).to_be_visible()
    chart = page.get_by_role("img", name="Progres pendataan ulang per instansi")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 600
    instansi = sorted({r["instansi_kode"] for r in demo["rows"]})
    table = page.locator("table.progress")
    for kode in instansi:
        expect(table.get_by_role("rowheader", name=kode, exact=True)).to_be_visible()
    # the roster as the API counts it (other tests on this platform may have imported rows of their own)
    roster = api.get("/api/v1/admin/progress", headers=bearer(demo["admin_token"])).json()["totals"]["roster"]
    assert roster >= len(demo["rows"])
    expect(table.locator("tfoot td").first).to_have_text(f"{roster:,}".replace(",", "."))
    page.screenshot(path=str(tmp_path / "progres.png"), full_page=True)
    assert errors == []  # no CSP violation, no failed resource

    page.get_by_role("link", name="Kampanye").click()
    expect(page.get_by_role("heading", name="Kampanye", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Status saat ini")).to_contain_text("dibuka")
    expect(page.get_by_label("Ditutup (WIB)")).to_have_value(re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"))
    page.screenshot(path=str(tmp_path / "kampanye.png"), full_page=True)
    page.get_by_role("link", name="Verifikator").click()
    expect(page.get_by_label("Instansi")).to_contain_text(instansi[0])
    page.screenshot(path=str(tmp_path / "verifikator.png"), full_page=True)

    page.get_by_role("link", name="Audit").click()
    page.get_by_label("NIP").fill(row["nip"])
    page.get_by_role("button", name="Tampilkan riwayat").click()
    expect(page.get_by_role("heading", name=f"Riwayat peristiwa NIP {row['nip']}")).to_be_visible()
    history = page.locator("table.audit")
    expect(history.get_by_role("row").filter(has_text="RosterEntryImported")).to_have_count(1)
    expect(history.get_by_role("row").filter(has_text="RegistrationSubmitted")).to_have_count(1)
    expect(history.get_by_role("row").filter(has_text="RegistrationReceived")).to_have_count(1)
    expect(page.get_by_role("button", name="Buka kembali")).to_be_visible()
    expect(page.get_by_role("button", name="Pulihkan")).to_be_visible()
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)

    page.get_by_role("button", name="Periksa rantai hash").click()
    expect(page.get_by_role("status")).to_contain_text("Semua rantai hash utuh")
    page.screenshot(path=str(tmp_path / "rantai.png"), full_page=True)
    for name in ("progres.png", "kampanye.png", "verifikator.png", "audit.png", "rantai.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_admin_uploads_the_roster_and_watches_the_job_progress(stack, browser, tmp_path):
    from playwright.sync_api import expect

    cfg, demo = stack
    page = browser.new_page(locale="id-ID", viewport={"width": 1280, "height": 900})
    page.goto(f"{cfg.console_url}/login")
    page.get_by_label("Nama pengguna").fill("admin")
    page.get_by_label("Kata sandi").fill(cfg.admin_password)
    page.get_by_role("button", name="Masuk").click()
    page.goto(f"{cfg.console_url}/admin/data-induk")
    page.get_by_label("Berkas CSV").set_input_files(str(demo["roster"]))
    page.get_by_role("button", name="Impor").click()
    expect(page).to_have_url(re.compile(r"/admin/pekerjaan/identity-[0-9a-f]{32}\?berkas="))
    bar = page.locator("progress#job-progress")
    expect(bar).to_have_attribute("max", str(len(demo["rows"])))
    # The page refreshes itself until the job ends: then the bar is full and the summary is shown.
    expect(page.get_by_role("status")).to_contain_text("Impor selesai", timeout=60_000)
    expect(bar).to_have_attribute("value", str(len(demo["rows"])))
    expect(page.locator("table.summary").get_by_role("row").filter(has_text="Tidak berubah")).to_contain_text(
        str(len(demo["rows"])))
    page.screenshot(path=str(tmp_path / "pekerjaan.png"), full_page=True)
