"""Start and stop local helper processes (SecantusDB, SMTP sink) and wait for ports."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# "LOW-HIGH": the ports free_port hands out in this process tree (`make test` gives each suite a slice of its own,
# below the kernel's ephemeral range). Kept by tests.hermetic, as every PUPNS_TEST_* knob is.
PORTS_ENV = "PUPNS_TEST_PORTS"
_handed = {"next": None}  # the next port of the slice to try


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Without PUPNS_TEST_PORTS the kernel picks it (bind to port 0), from the ephemeral range that outgoing
    connections take their local ports from too: one opened between this call and the server's bind takes the port,
    and two test suites side by side can be handed the same one. With it, the next port of that slice that binds,
    starting at an offset set by the process id (processes of one suite hand out different parts of the slice)."""
    span = os.environ.get(PORTS_ENV, "")
    if not span:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low, high = (int(part) for part in span.split("-"))
    size = high - low + 1
    if _handed["next"] is None:
        _handed["next"] = low + (os.getpid() * 61) % size
    for _ in range(size):
        port = _handed["next"]
        _handed["next"] = low + (port - low + 1) % size
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port left in {PORTS_ENV}={span}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Block until something accepts on `port`, or fail (also if `proc` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before port {port} opened")
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


# The store's WiredTiger cache on disk: bounded, as a production mongod's is (50 % of RAM less 1 GB), so that a long
# day's resident memory levels off instead of growing to SecantusDB's default 1 GB next to every other process.
STORE_CACHE = "256M"


def start_listening(argv: list[str], port: int, log_path: Path,
                    started: Callable[[subprocess.Popen], None] | None = None) -> subprocess.Popen:
    """Run `argv` in a session of its own, logging to `log_path`, and return once it accepts on `port`; `started`
    is told of the process at once, before it listens (so that it can be recorded, and stopped, while it comes up)."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if started is not None:
        started(proc)
    wait_for_port(port, proc)
    return proc


def start_secantus(port: int, storage: str, log_path: Path,
                   started: Callable[[subprocess.Popen], None] | None = None) -> subprocess.Popen:
    """Run SecantusDB (MongoDB wire protocol) as its own process; `storage` may be ':memory:'.

    On disk it syncs its journal at every commit: without that, a kill -9 of SecantusDB 0.7 loses the last
    acknowledged commits (it does not honour `j: true` on a transaction commit), i.e. writes answered 2xx.
    """
    durable = [] if storage == ":memory:" else ["--sync-on-commit", "--cache-size", STORE_CACHE]
    return start_listening([sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
                            "--storage-path", storage, "--log-level", "WARNING", *durable], port, log_path, started)


def start_smtp_sink(port: int, maildir: Path, log_path: Path,
                    started: Callable[[subprocess.Popen], None] | None = None) -> subprocess.Popen:
    """Run the local SMTP sink that stores each message as a file in `maildir`."""
    maildir.mkdir(parents=True, exist_ok=True)
    return start_listening([sys.executable, "-m", "pupns_dev.smtp_sink", "--port", str(port), "--maildir",
                            str(maildir)], port, log_path, started)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a process group politely, then kill it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait(timeout)
