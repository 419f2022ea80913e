"""`make run` keeps going: transient refusals are waited out as told, crashed processes are started again."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pupns_dev import demo
from pupns_dev.supervise import Supervisor


class FakeProc:
    def __init__(self, code: int | None = None):
        self.returncode = code


class FakeStack:
    def __init__(self):
        self.procs = {"identity": FakeProc(), "edge": FakeProc()}
        self.restarted: list[str] = []
        self.fail_restart = 0

    def exited(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.returncode is not None]

    def process(self, name: str) -> FakeProc:
        return self.procs[name]

    def restart(self, name: str) -> None:
        self.restarted.append(name)
        if self.fail_restart:
            self.fail_restart -= 1
            raise RuntimeError("exited again")
        self.procs[name] = FakeProc()


def test_a_crashed_process_is_restarted_with_a_log_line_and_a_crash_loop_backs_off():
    stack, lines, now = FakeStack(), [], [100.0]
    supervisor = Supervisor(stack, log=lines.append, clock=lambda: now[0])
    stack.procs["identity"] = FakeProc(-9)
    supervisor.tick()
    assert stack.restarted == ["identity"] and "identity exited with code -9" in lines[0]
    assert lines[-1] == "process identity is running again"
    stack.procs["identity"] = FakeProc(1)  # crashes again at once: waits 2 s this time
    now[0] += 1
    supervisor.tick()
    assert stack.restarted == ["identity"]
    now[0] += 2
    stack.fail_restart = 1
    supervisor.tick()
    assert stack.restarted == ["identity", "identity"] and "did not come back" in lines[-1]
    now[0] += 3
    supervisor.tick()
    assert stack.restarted == ["identity", "identity"]  # 4 s after the failed try, not yet
    now[0] += 1
    supervisor.tick()
    assert stack.restarted == ["identity"] * 3 and stack.exited() == []


@pytest.fixture
def flaky_server():
    """Answers 503 + Retry-After, then 429 + Retry-After, then 409 in progress, then 202."""
    answers = [(503, {"Retry-After": "7"}), (429, {"Retry-After": "3"}), (409, {"Retry-After": "1"}),
               (202, {})]
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/api/v1/admin/roster" or not answers:  # a stray caller on a reused port
                status, headers = 404, {}
            else:
                seen.append(self.headers.get("Idempotency-Key"))
                status, headers = answers.pop(0)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_demo_calls_wait_as_told_and_try_again_instead_of_giving_up(flaky_server):
    url, seen = flaky_server
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        assert len(pauses) < 10, f"still retrying after {pauses}"  # a failure, not a loop that eats the memory
    resp = demo.patient("POST", url + "/api/v1/admin/roster", progress=lambda msg: None, sleep=pause, data=b"x",
                        headers={"Idempotency-Key": "k"})
    assert resp.status_code == 202
    assert pauses == [7.0, 3.0, 1.0] and seen == ["k"] * 4
    assert demo.retry_after(None, 10) == demo.MAX_PAUSE_SECONDS


def test_a_roster_job_of_an_earlier_run_is_said_to_be_one():
    asked_at = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    earlier = {"id": "identity-1", "created_at": "2026-12-04T22:00:00.000000+00:00"}
    assert "loaded before" in demo.loaded_before(earlier, asked_at)
    assert demo.loaded_before({**earlier, "created_at": "2026-12-05T01:00:01+00:00"}, asked_at) == ""
