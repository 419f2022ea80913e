"""Processes a killed `make run` left behind: recorded while it runs, stopped by the next `make run`.

Every platform process runs in its own session (so that Ctrl-C reaches only `make run`, which stops them in
order). The price: when `make run` itself dies without stopping them (kill -9, an out-of-memory kill), they
keep running and hold their ports, and the next `make run` could only say which port is taken. So `make run`
records each process it runs (pid and command line) in `var/run.pids`; the next one, holding `var/run.lock`
(so no live run owns them), stops every recorded process that is still the same program. A pid the system has
since given to another program is left alone.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

STOP_SECONDS = 10.0


def command_line(pid: int) -> list[str] | None:
    """The running program's argv, or None when no process has that pid (or it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def started_command_line(proc: subprocess.Popen, wait: float = 1.0) -> list[str] | None:
    """The argv of a process that may have just started: for a moment after Popen returns the kernel is still
    finishing the exec and its command line reads empty (recorded so, the next run could not tell it)."""
    deadline = time.monotonic() + wait
    while (argv := command_line(proc.pid)) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return argv


def record(path: Path, procs: Iterable[tuple[str, subprocess.Popen]], last: list | None = None) -> list:
    """Write what runs now to `path` when it changed since `last` (what this returned before); return it."""
    running = [{"name": name, "pid": proc.pid, "argv": started_command_line(proc)}
               for name, proc in procs if proc.poll() is None]
    if running != last:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(running, indent=1))
        tmp.replace(path)
    return running


class Recorder:
    """Keeps `path` up to date with one list of processes: a stack's, which grows while the stack starts (updated
    as the stack starts each process, before the process listens)."""

    def __init__(self, path: Path, procs: list[tuple[str, subprocess.Popen]]) -> None:
        self.path, self.procs, self.running = path, procs, None

    def update(self) -> None:
        self.running = record(self.path, self.procs, self.running)


def stop_recorded(path: Path, timeout: float = STOP_SECONDS) -> list[str]:
    """Stop the recorded processes that still run the recorded program; return their names."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    ours = [e for e in entries if e.get("argv") and _still_running(e)]
    for entry in ours:
        _signal_group(entry["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # The whole group, not only its leader: a gunicorn master may be gone while a worker is still exiting.
    while any(map(_group_running, ours)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for entry in filter(_group_running, ours):
        _signal_group(entry["pid"], signal.SIGKILL)
    path.unlink(missing_ok=True)
    return [e["name"] for e in ours]


def _still_running(entry: dict) -> bool:
    """Whether the recorded pid still runs the recorded program."""
    return command_line(entry["pid"]) == entry["argv"]


def _group_running(entry: dict) -> bool:
    """Whether any process of the recorded process's group (its session: pgid = its pid) still runs."""
    return _still_running(entry) or bool(group_members(entry["pid"]))


def group_members(pgid: int) -> list[int]:
    """The pids of the processes in group `pgid` that have not exited (zombies waiting to be reaped excluded)."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            state, _ppid, group = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # exited meanwhile
        if int(group) == pgid and state != "Z":
            members.append(int(proc.name))
    return members


def _signal_group(pid: int, signum: int) -> None:
    """Signal the process's group (its own session: the gunicorn master and its workers together)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:  # not a group leader after all: the process alone
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
