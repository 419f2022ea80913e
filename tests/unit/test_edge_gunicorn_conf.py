"""The edge's gunicorn settings file: the hooks it defines do what they say."""
from __future__ import annotations

import gc
import os
import runpy
from pathlib import Path

from pupns import passwords
from pupns.cores import usable_cores as usable_cpus

CONF = Path(__file__).resolve().parents[2] / "services/edge/gunicorn.conf.py"


def test_worker_init_freezes_what_was_imported_so_full_collections_skip_it(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the file sets defaults in the environment
    settings = runpy.run_path(str(CONF))
    assert settings["worker_class"] == "edge.http.worker.EdgeWorker"
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 1000  # the modules, classes and functions loaded so far
    finally:
        gc.unfreeze()


def test_workers_and_hash_threads_follow_the_container_cpu_quota_not_the_node_core_count(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.delenv("PUPNS_EDGE_WORKERS", raising=False)
    settings = runpy.run_path(str(CONF))
    assert settings["workers"] == max(2, usable_cpus())
    assert passwords.POOL.size == usable_cpus()
    cores = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("50000 100000\n")  # half a core
    assert usable_cpus(str(quota)) == 1
    quota.write_text("150000 100000\n")  # 1.5 cores: the second core is partly usable
    assert usable_cpus(str(quota)) == min(cores, 2)
    quota.write_text("max 100000\n")
    assert usable_cpus(str(quota)) == cores
    assert usable_cpus(str(tmp_path / "absent")) == cores
