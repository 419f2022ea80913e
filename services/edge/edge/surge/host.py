"""The edge workers of one host share their in-flight counts and gates (issue 9: nobody turned away while
capacity is free).

gunicorn's workers share one listening socket, and a keep-alive connection stays with the worker that accepted it,
so a few busy connections can land on one worker while another idles. Each worker's admission limit is its own:
that worker turned newcomers away with the host's back end half idle (a closed loop of 4 clients, 3 of them on one
worker, was told to come back). Now the master makes a small table in shared memory before it forks the workers;
each worker writes its in-flight count and its gate into its own row, and a worker at its gate still admits while
the host's workers together have fewer in flight than their gates together allow. A worker below its own gate
admits as before, so the host may run over its total by what was borrowed, for as long as those requests take.

Without the table (a test's single process, a server other than gunicorn) every worker decides alone, as before.
"""
from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

ROWS = 16  # more than a host runs edge workers (one per core); beyond it a worker decides alone

TABLE: HostTable | None = None  # made by the gunicorn master (gunicorn.conf.py), inherited by its workers
ROW: HostRow | None = None  # this worker's row, claimed after the fork


class HostTable:
    """Per worker of one host: its pid, in-flight count and gate, in memory shared across the fork."""

    def __init__(self, rows: int = ROWS) -> None:
        self.pids = multiprocessing.RawArray("q", rows)
        self.inflight = multiprocessing.RawArray("i", rows)
        self.gates = multiprocessing.RawArray("i", rows)
        self._claiming = multiprocessing.Lock()

    def claim(self, pid: int) -> HostRow | None:
        """A free row for the worker `pid` (None: the table is full, the worker decides alone)."""
        with self._claiming:
            for index, owner in enumerate(self.pids):
                if owner == 0:
                    self.inflight[index] = self.gates[index] = 0
                    self.pids[index] = pid
                    return HostRow(self, index)
        return None

    def release(self, pid: int) -> None:
        """A worker exited: its row no longer counts (the master calls this)."""
        with self._claiming:
            for index, owner in enumerate(self.pids):
                if owner == pid:
                    self.pids[index] = 0

    def spare(self) -> int:
        """The host's gates together minus its in-flight requests together (read without a lock: a request may be
        counted a moment late)."""
        return sum(gate - inflight for pid, inflight, gate in zip(self.pids, self.inflight, self.gates, strict=True)
                   if pid)


@dataclass
class HostRow:
    """One worker's row of the host table."""

    table: HostTable
    index: int

    def publish(self, inflight: int, gate: int) -> None:
        self.table.inflight[self.index] = inflight
        self.table.gates[self.index] = gate

    def spare(self) -> int:
        return self.table.spare()


def make_table() -> None:
    """In the gunicorn master, before the workers are forked."""
    global TABLE
    TABLE = HostTable()


def claim_row() -> None:
    """In a worker, right after the fork."""
    global ROW
    ROW = TABLE.claim(os.getpid()) if TABLE is not None else None


def release_row(pid: int) -> None:
    """In the master, when a worker has exited."""
    if TABLE is not None:
        TABLE.release(pid)
