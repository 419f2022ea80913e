"""Imported first by tests/conftest.py: tests are hermetic against the developer's shell.

Every PUPNS_* setting is dropped before anything reads it, except the knobs meant for the test run itself
(PUPNS_TEST_*: how to run; PUPNS_E2E_*: how big).
"""
from __future__ import annotations

import os

KEPT_FOR_TESTS = ("PUPNS_TEST_", "PUPNS_E2E_")

for _name in [n for n in os.environ if n.startswith("PUPNS_") and not n.startswith(KEPT_FOR_TESTS)]:
    del os.environ[_name]
