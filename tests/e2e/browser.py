"""Headless Debian Chromium for the browser tests (never a test tool's own browser download)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]

# Browser tests drive Playwright, which cannot run inside the eventlet-patched main test run.
BROWSER_MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("PUPNS_TEST_NO_EVENTLET"),
                       reason="browser tests run with PUPNS_TEST_NO_EVENTLET=1"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def browser():
    """A launched Chromium, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
