"""`make run` stops what a killed earlier run left running (pupns_dev.leftovers), with real processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pupns_dev import leftovers
from pupns_dev.waiting import wait_until

# A platform process as `make run` starts one: its own session, with a child of its own (as gunicorn has workers).
# Each waits for a signal and nothing else.
WAIT = "import signal; signal.pause()"
PARENT = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {WAIT!r}]); {WAIT}"


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_a_process_an_earlier_run_left_is_stopped_with_its_children(tmp_path):
    record = tmp_path / "run.pids"
    proc = subprocess.Popen([sys.executable, "-c", PARENT], start_new_session=True)
    try:
        kids = wait_until(lambda: children(proc.pid), timeout=30, message="the child started")
        leftovers.record(record, [("edge", proc)])
        # The earlier run was killed here: it never stopped `edge`. The next run:
        assert leftovers.stop_recorded(record) == ["edge"]
        assert proc.wait(timeout=10) is not None
        assert all(leftovers.command_line(kid) is None for kid in kids)  # gone or a zombie: nothing runs
        assert leftovers.group_members(proc.pid) == []
        assert not record.exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_a_pid_that_now_runs_another_program_is_left_alone(tmp_path):
    record = tmp_path / "run.pids"
    mine = leftovers.command_line(os.getpid())
    record.write_text(json.dumps([{"name": "forms", "pid": os.getpid(), "argv": [*mine, "--not-this-one"]}]))
    assert leftovers.stop_recorded(record) == []
    assert leftovers.command_line(os.getpid()) == mine


def test_nothing_recorded_stops_nothing(tmp_path):
    assert leftovers.stop_recorded(tmp_path / "run.pids") == []
    (tmp_path / "run.pids").write_text("{half a file")  # a run killed while writing it (the write is atomic now)
    assert leftovers.stop_recorded(tmp_path / "run.pids") == []


def test_the_record_is_written_only_when_what_runs_changed(tmp_path):
    record = tmp_path / "run.pids"
    proc = subprocess.Popen([sys.executable, "-c", WAIT], start_new_session=True)
    try:
        running = leftovers.record(record, [("smtp", proc)])
        assert [entry["name"] for entry in json.loads(record.read_text())] == ["smtp"]
        record.unlink()
        assert leftovers.record(record, [("smtp", proc)], running) == running
        assert not record.exists()  # unchanged: not written again
        proc.kill()
        proc.wait()
        assert leftovers.record(record, [("smtp", proc)], running) == []
        assert json.loads(record.read_text()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_recorder_follows_a_list_of_processes_as_it_grows(tmp_path):
    record, procs = tmp_path / "run.pids", []
    recorder = leftovers.Recorder(record, procs)
    try:
        procs.append(("secantus", subprocess.Popen([sys.executable, "-c", WAIT], start_new_session=True)))
        recorder.update()  # a process started: on record before the next one starts
        assert [entry["name"] for entry in json.loads(record.read_text())] == ["secantus"]
        procs.append(("smtp", subprocess.Popen([sys.executable, "-c", WAIT], start_new_session=True)))
        recorder.update()
        assert [entry["name"] for entry in json.loads(record.read_text())] == ["secantus", "smtp"]
        assert sorted(leftovers.stop_recorded(record)) == ["secantus", "smtp"]  # the next run stops both
        assert all(proc.wait(timeout=10) is not None for _, proc in procs)
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_stack_puts_each_process_on_record_as_it_starts_it(tmp_path):
    from pupns_dev.processes import free_port
    from pupns_dev.stack import Stack, StackConfig

    record = tmp_path / "run.pids"
    seen: list[list[str]] = []
    stack = Stack(StackConfig(var=tmp_path, mongo_port=free_port(), storage=":memory:"))
    recorder = leftovers.Recorder(record, stack.procs)

    def changed() -> None:
        recorder.update()
        seen.append([entry["name"] for entry in json.loads(record.read_text())])
    stack.on_change = changed
    try:
        stack._start_stores(tmp_path)  # the first step of `Stack.start`, with a real store process
        assert seen == [["secantus"]]
        assert leftovers.stop_recorded(record) == ["secantus"]  # what a killed run left, the next one stops
    finally:
        stack.stop()
