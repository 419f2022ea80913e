"""The platform started from another tree (a benchmark's "before" side) runs that tree's code, and serves its edge
the way that tree did: the ASGI front where it has one, the WSGI app of a tree from before it."""
from __future__ import annotations

import os
from pathlib import Path

from pupns_dev.stack import StackConfig, edge_app

THIS_TREE = Path(__file__).resolve().parents[2]


def test_this_tree_serves_its_asgi_front():
    assert edge_app(THIS_TREE) == "edge.http.server:app"


def test_a_tree_from_before_the_front_serves_its_wsgi_app(tmp_path):
    (tmp_path / "services/edge/edge/http").mkdir(parents=True)
    (tmp_path / "services/edge/edge/http/app.py").write_text("app = None\n")
    assert edge_app(tmp_path) == "edge.http.app:app"


def test_another_tree_s_code_goes_first_on_every_process_s_path(tmp_path):
    env = StackConfig(var=tmp_path, code_root=tmp_path / "before").env()
    first = env["PYTHONPATH"].split(":")[:2]
    assert first == [str(tmp_path / "before/libs"), str(tmp_path / "before/services/identity")]
    assert StackConfig(var=tmp_path).env().get("PYTHONPATH") == os.environ.get("PYTHONPATH")
