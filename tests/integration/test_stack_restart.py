"""The test stack restarts a helper it started (pupns_dev.stack.Stack.restart), with real processes."""
from __future__ import annotations

import requests

from pupns_dev import meterai_sim
from pupns_dev.processes import free_port
from pupns_dev.stack import Stack, StackConfig


def test_the_e_meterai_simulator_is_restarted_on_its_port(tmp_path):
    """Chaos tests stop and start the stand-in provider as they do a service; it is started by a helper of its own,
    not from a command line the stack keeps, and restarting it raised KeyError."""
    stack = Stack(StackConfig(var=tmp_path, mongo_port=free_port(), meterai_port=free_port(), storage=":memory:"))
    (tmp_path / "logs").mkdir()
    try:
        first = meterai_sim.start(stack.cfg.meterai_port, tmp_path / "logs" / "meterai.log",
                                  started=stack._adder("meterai"))
        again = stack.restart("meterai")
        assert again.pid != first.pid and first.poll() is not None
        assert stack.process("meterai") is again
        answer = requests.post(f"http://127.0.0.1:{stack.cfg.meterai_port}/_outage", json={"down": False}, timeout=5)
        assert answer.status_code == 200
    finally:
        stack.stop()
