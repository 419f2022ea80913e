"""The edge workers of one host share their in-flight counts and gates (edge.surge.host): a worker at its gate
borrows the places its siblings leave unused, never more than the host's gates together."""
from __future__ import annotations

import multiprocessing
import os
import runpy
from types import SimpleNamespace

import pytest

from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from edge.surge import host
from edge.surge.admission import Admission
from pupns.errors import AppError
from tests.unit.test_edge_gunicorn_conf import CONF


def worker(row: host.HostRow | None, gate: int = 2, ceiling: int = 6) -> Admission:
    settings = Settings(background=False, capacity_initial=gate, capacity_min=1, capacity_max=ceiling)
    return Admission(settings, MemoryEdgeStore(), host=row)


def newcomers(admission: Admission, count: int) -> int:
    """How many of `count` newcomers enter before one is told to come back."""
    for entered in range(count):
        try:
            admission.enter(None, session=False)
        except AppError as exc:
            assert exc.code == "queue"
            return entered
    return count


def test_a_worker_at_its_gate_takes_the_places_an_idle_sibling_leaves_and_no_more():
    table = host.HostTable(rows=4)
    busy, idle = worker(table.claim(101)), worker(table.claim(102))
    assert newcomers(busy, 10) == 4  # its own 2, then the idle sibling's 2
    assert busy.full(session=False) and idle.full(session=False) is False  # the idle one still has its own gate
    busy.leave()
    assert not busy.full(session=False) and newcomers(busy, 10) == 1
    assert newcomers(idle, 10) == 2  # its own places are still its own: the host runs 2 over, for a while
    busy.leave()
    assert newcomers(busy, 10) == 0  # the host is over its gates: nothing to borrow


def test_a_worker_borrows_only_up_to_its_ceiling_so_a_thread_stays_free_for_turn_aways():
    table = host.HostTable(rows=4)
    busy, _idle = worker(table.claim(101), gate=2, ceiling=3), worker(table.claim(102), gate=3, ceiling=3)
    assert newcomers(busy, 10) == 3 and table.spare() == 2 and busy.full(session=False)


def test_without_a_host_table_each_worker_decides_alone():
    alone, other = worker(None), worker(None)
    assert newcomers(alone, 10) == 2 and alone.full(session=False)
    assert newcomers(other, 10) == 2


def test_an_exited_worker_s_row_no_longer_counts():
    table = host.HostTable(rows=4)
    busy, _gone = worker(table.claim(101)), worker(table.claim(102))
    table.release(102)
    assert newcomers(busy, 10) == 2
    assert table.claim(103).index == 1  # the row is free for the worker that replaces it


def _publish_in_child(table: host.HostTable) -> None:
    table.claim(os.getpid()).publish(inflight=3, gate=1)


def test_the_table_is_shared_with_the_workers_forked_after_it_was_made():
    table = host.HostTable(rows=4)
    child = multiprocessing.get_context("fork").Process(target=_publish_in_child, args=(table,))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert table.spare() == 1 - 3  # what the child wrote is what the parent reads


def test_gunicorn_makes_the_table_in_the_master_claims_a_row_per_worker_and_frees_it_on_exit(monkeypatch):
    monkeypatch.setattr(os, "environ", {**os.environ, "PROMETHEUS_MULTIPROC_DIR": ""})
    monkeypatch.setattr(host, "TABLE", None)
    monkeypatch.setattr(host, "ROW", None)
    settings = runpy.run_path(str(CONF))
    settings["on_starting"](None)
    try:
        assert isinstance(host.TABLE, host.HostTable)
        settings["post_fork"](None, None)
        assert host.ROW is not None and host.TABLE.pids[host.ROW.index] == os.getpid()
        settings["child_exit"](None, SimpleNamespace(pid=os.getpid()))
        assert host.TABLE.pids[host.ROW.index] == 0
    finally:
        settings["on_exit"](None)


@pytest.mark.parametrize("session", [True, False])
def test_sessions_and_newcomers_alike_may_borrow(session):
    table = host.HostTable(rows=2)
    busy, _idle = worker(table.claim(101), gate=1), worker(table.claim(102), gate=1)
    busy.enter(None, session=session)
    busy.enter(None, session=session)  # the sibling's place
    with pytest.raises(AppError):
        busy.enter(None, session=session)
