"""pupns_dev.processes.free_port: the kernel's pick, or the next free port of the suite's own slice."""
from __future__ import annotations

import socket

import pytest

from pupns_dev import processes
from pupns_dev.processes import PORTS_ENV, free_port


@pytest.fixture
def fresh_slice(monkeypatch):
    monkeypatch.setitem(processes._handed, "next", None)
    return monkeypatch


def slice_with_a_listener() -> tuple[socket.socket, int, int]:
    """A listening socket on a port below the ephemeral range, and a 3-port slice starting at it."""
    for low in range(21000, 22000, 7):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", low))
        except OSError:
            sock.close()
            continue
        sock.listen()
        return sock, low, low + 2
    pytest.skip("no port free to listen on between 21000 and 22000")


def test_without_a_slice_the_kernel_picks_a_port_nothing_listens_on(fresh_slice):
    fresh_slice.delenv(PORTS_ENV, raising=False)
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free: this would raise otherwise


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_a_slice_hands_out_its_ports_in_turn_and_skips_one_in_use(fresh_slice):
    listener, low, high = slice_with_a_listener()
    with listener:
        free = {port for port in (low + 1, high) if bindable(port)}
        if len(free) < 2:
            pytest.skip(f"ports {low + 1}-{high} are not free on this machine")
        fresh_slice.setenv(PORTS_ENV, f"{low}-{high}")
        handed = [free_port() for _ in range(4)]
    assert set(handed) == free  # never the port in use
    assert handed[0] != handed[1] and handed[2] != handed[3]  # one after the other, round the slice


def test_a_slice_with_no_free_port_left_says_so(fresh_slice):
    listener, low, _ = slice_with_a_listener()
    with listener:
        fresh_slice.setenv(PORTS_ENV, f"{low}-{low}")
        with pytest.raises(OSError, match=PORTS_ENV):
            free_port()
