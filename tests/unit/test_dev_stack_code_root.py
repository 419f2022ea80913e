"""The platform started from another tree (a benchmark's "before" side) serves that tree's edge the way that tree
did: the ASGI front where it has one, the WSGI app of a tree from before it (pupns_dev.stack.edge_app)."""
from __future__ import annotations

from pathlib import Path

from pupns_dev.stack import edge_app

THIS_TREE = Path(__file__).resolve().parents[2]


def test_this_tree_serves_its_asgi_front():
    assert edge_app(THIS_TREE) == "edge.http.server:app"


def test_a_tree_from_before_the_front_serves_its_wsgi_app(tmp_path):
    (tmp_path / "services/edge/edge/http").mkdir(parents=True)
    (tmp_path / "services/edge/edge/http/app.py").write_text("app = None\n")
    assert edge_app(tmp_path) == "edge.http.app:app"
