"""CPU placement for benchmarks: pin a process tree (every thread, every descendant) to a set of cores.

Used by bench/edge_load.py to measure the production topology on one machine: in a cluster the edge
replicas run on their own nodes, so the CPU they spend turning a surge away is not taken from the back
end. On a 2-core box that is "back end on core 0, edge and load generator on core 1".
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # exited meanwhile
    return found


def threads(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def pin_tree(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` and of its descendants runs on `cpus` only (children forked later inherit it)."""
    for process in descendants(pid):
        for tid in threads(process):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, cpus)


def broker_pids() -> list[int]:
    """The local RabbitMQ node's Erlang VM (shared with the machine, so pinned only for the bench)."""
    out = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def pin_broker(cpus: set[int]) -> None:
    for pid in broker_pids():
        pin_tree(pid, cpus)


@contextlib.contextmanager
def broker_restored() -> Iterator[None]:
    """Whatever the bench pins the broker to, give it back the cores it had afterwards."""
    saved = {tid: os.sched_getaffinity(tid) for pid in broker_pids() for tid in threads(pid)}
    try:
        yield
    finally:
        for tid, original in saved.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, original)


def all_cpus() -> set[int]:
    return set(os.sched_getaffinity(0))


def halves() -> tuple[set[int], set[int]]:
    """(the back end's cores, the front's: edge and load generator) for the isolated placement: the first half of
    the usable cores and the rest (on a single core, both are that core)."""
    cpus = sorted(all_cpus())
    half = max(1, len(cpus) // 2)
    return set(cpus[:half]), set(cpus[half:]) or set(cpus)


@contextlib.contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """The calling thread, and the threads it starts meanwhile, on `cpus` only."""
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)
