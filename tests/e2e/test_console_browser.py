"""A verifier works in the real console (headless Chromium) against the whole running platform.

A PNS registers over HTTP; the verifier of their instansi logs in to the console, confirms the
registration, later opens the PNS's submission, sees what changed against the master roster and
approves it; the PNS's own API then shows the record verified. Runs without eventlet
(PUPNS_TEST_NO_EVENTLET=1): Playwright's sync API cannot run inside the eventlet-patched session.
"""
from __future__ import annotations

import time

from pupns_dev.waiting import wait_until
from tests.e2e.browser import BROWSER_MARKS, bearer

pytestmark = BROWSER_MARKS
PASSWORD = "rahasia-konsol-123"


def test_verifier_confirms_and_approves_in_the_console(stack, platform, api, browser, tmp_path):
    from playwright.sync_api import expect

    cfg, demo = stack
    row = platform.take_row(lambda r: not any(word in r["jabatan"] for word in ("Guru", "Dokter")))
    nip, verifier = row["nip"], demo["verifiers"][row["instansi_kode"]]
    registered = api.post("/api/v1/registrations", json={"nip": nip, "nik": row["nik"],
                                                         "email": f"{nip}@contoh.go.id", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    number = registered.json()["registration_number"]
    platform.wait_pending(row)

    page = browser.new_page(locale="id-ID", viewport={"width": 1280, "height": 900})
    page.goto(f"{cfg.console_url}/registrations")
    expect(page).to_have_url(f"{cfg.console_url}/login")
    page.get_by_label("Nama pengguna").fill(verifier["username"])
    page.get_by_label("Kata sandi").fill(verifier["password"])
    page.get_by_role("button", name="Masuk").click()

    expect(page.get_by_role("heading", name="Pendaftaran menunggu konfirmasi")).to_be_visible()
    registration = page.get_by_role("row").filter(has_text=number)
    expect(registration).to_contain_text(nip)
    expect(registration).to_contain_text(row["nama"])
    page.screenshot(path=str(tmp_path / "pendaftaran.png"), full_page=True)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["pupns_console"]["httpOnly"] and cookies["pupns_console"]["sameSite"] == "Strict"

    registration.get_by_role("button", name="Konfirmasi").click()
    expect(page.get_by_role("status")).to_have_text(f"Pendaftaran NIP {nip} telah dikonfirmasi.")
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)

    def logged_in() -> str | None:
        resp = api.post("/api/v1/auth/token", json={"username": nip, "password": PASSWORD})
        return resp.json()["access_token"] if resp.status_code == 200 else None
    pns = bearer(wait_until(logged_in, timeout=30, interval=0.5, message="PNS can log in"))
    form = wait_until(lambda: (r := api.get("/api/v1/me/form", headers=pns)).status_code == 200 and r,
                      timeout=30, message="form opened")

    # The PNS corrects two roster facts and adds contact details, then submits.
    data_utama = {**form.json()["sections"]["data_utama"], "tempat_lahir": "Kabupaten Sleman",
                  "agama": "Katolik" if row["agama"] != "Katolik" else "Islam", "no_hp": "081234567890",
                  "alamat": "Jl. Malioboro No. 5, Yogyakarta", "status_perkawinan": "Kawin"}
    saved = api.put("/api/v1/me/form/sections/data_utama", json=data_utama,
                    headers={**pns, "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text
    submitted = api.post("/api/v1/me/form/submit", headers=pns)
    assert submitted.status_code == 200, submitted.text

    page.get_by_role("link", name="Pengajuan data").click()
    expect(page.get_by_role("heading", name="Pengajuan data")).to_be_visible()

    def listed() -> bool:
        page.reload()
        return page.get_by_role("link", name=nip).count() == 1
    wait_until(listed, timeout=30, interval=0.5, message="submission listed in the console")
    page.get_by_role("link", name=nip).click()
    expect(page.get_by_role("heading", name=f"Pengajuan data NIP {nip}")).to_be_visible()
    changes = page.locator("table", has=page.get_by_role("columnheader", name="Data induk"))
    expect(changes.get_by_role("row").filter(has_text="Tempat lahir")).to_contain_text(row["tempat_lahir"])
    expect(changes.get_by_role("row").filter(has_text="Tempat lahir")).to_contain_text("Kabupaten Sleman")
    expect(changes.get_by_role("row").filter(has_text="Agama")).to_contain_text(data_utama["agama"])
    expect(changes.get_by_role("row")).to_have_count(3)  # header + the two corrected facts
    page.screenshot(path=str(tmp_path / "pengajuan.png"), full_page=True)

    page.get_by_role("button", name="Setujui").click()
    expect(page.get_by_role("status")).to_have_text(f"Pengajuan data NIP {nip} telah disetujui.")
    me = wait_until(lambda: (body := api.get("/api/v1/me", headers=pns).json())["status"] == "verified" and body,
                    timeout=30, message="status verified")
    assert me["registration_number"] == number
    assert (tmp_path / "pendaftaran.png").stat().st_size > 0 and (tmp_path / "pengajuan.png").stat().st_size > 0


def test_a_verifier_changes_their_password_in_the_console(stack, platform, api, browser):
    """Ganti kata sandi: refused with the wrong current password and with a confirmation that differs (errors in
    Bahasa Indonesia), then changed; the session goes on, the old password no longer logs in, the new one does."""
    from playwright.sync_api import expect

    cfg, demo = stack
    kode = sorted(demo["verifiers"])[0]
    username, new = f"verif.sandi{int(time.time() * 1000) % 10**8}", "kata-sandi-baru-456"
    created = api.post("/api/v1/admin/verifiers", headers=platform.admin(),
                       json={"username": username, "password": PASSWORD, "instansi_kode": kode})
    assert created.status_code == 201, created.text

    page = browser.new_page(locale="id-ID", viewport={"width": 1280, "height": 900})
    page.goto(f"{cfg.console_url}/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("link", name="Ganti kata sandi").click()
    expect(page.get_by_role("heading", name="Ganti kata sandi")).to_be_visible()

    def submit(current: str, new_password: str, again: str) -> None:
        page.get_by_label("Kata sandi saat ini").fill(current)
        page.get_by_label("Kata sandi baru", exact=True).fill(new_password)
        page.get_by_label("Ulangi kata sandi baru").fill(again)
        page.get_by_role("button", name="Ganti kata sandi").click()

    submit("bukan-sandinya-1", new, new)
    expect(page.get_by_role("alert")).to_have_text("Kata sandi saat ini salah.")
    expect(page.get_by_label("Kata sandi saat ini")).to_have_attribute("aria-invalid", "true")
    submit(PASSWORD, new, new + "-lain")
    expect(page.get_by_role("alert")).to_have_text("Konfirmasi kata sandi baru tidak sama.")
    submit(PASSWORD, new, new)
    expect(page.get_by_role("status")).to_contain_text("Kata sandi Anda telah diganti.")
    page.get_by_role("link", name="Pendaftaran").click()  # the session goes on with the fresh token
    expect(page.get_by_role("heading", name="Pendaftaran menunggu konfirmasi")).to_be_visible()

    url = "/api/v1/auth/token"
    assert api.post(url, json={"username": username, "password": PASSWORD}).status_code == 401
    assert api.post(url, json={"username": username, "password": new}).status_code == 200
