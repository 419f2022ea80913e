"""The edge's gunicorn settings file: the hooks it defines do what they say."""
from __future__ import annotations

import gc
import os
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "services/edge/gunicorn.conf.py"


def test_worker_init_freezes_what_was_imported_so_full_collections_skip_it(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the file sets defaults in the environment
    settings = runpy.run_path(str(CONF))
    assert settings["worker_class"] == "gthread"
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 1000  # the modules, classes and functions loaded so far
    finally:
        gc.unfreeze()
