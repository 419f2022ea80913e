"""Keep `make run` alive as Kubernetes would: a process that exits is started again, with a log line and backoff."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pupns_dev.stack import Stack

MAX_BACKOFF_SECONDS = 30.0
STEADY_SECONDS = 60.0  # a process that ran this long since its restart starts the backoff afresh


@dataclass
class Supervisor:
    """Restarts exited processes of a Stack; repeated crashes wait 1, 2, 4 ... 30 s (a crash loop backs off)."""

    stack: Stack
    log: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    restarts: dict[str, int] = field(default_factory=dict)
    _due: dict[str, float] = field(default_factory=dict)
    _restarted_at: dict[str, float] = field(default_factory=dict)

    def backoff(self, name: str) -> float:
        return min(2.0 ** max(self.restarts.get(name, 0) - 1, 0), MAX_BACKOFF_SECONDS)

    def tick(self) -> None:
        """Look at every process once; restart those whose backoff has passed."""
        now = self.clock()
        for name in self.stack.exited():
            if name not in self._due:
                if now - self._restarted_at.get(name, -STEADY_SECONDS) >= STEADY_SECONDS:
                    self.restarts[name] = 0
                self.restarts[name] = self.restarts.get(name, 0) + 1
                code = self.stack.process(name).returncode
                self._due[name] = now + (self.backoff(name) if self.restarts[name] > 1 else 0)
                self.log(f"process {name} exited with code {code}; restarting it "
                         f"(restart #{self.restarts[name]}; see logs/{name}.log)")
            if self._due[name] <= now:
                self._restart(name)

    def _restart(self, name: str) -> None:
        try:
            self.stack.restart(name)
        except Exception as exc:  # noqa: BLE001 - still down: try again after a longer pause
            self.restarts[name] += 1
            self._due[name] = self.clock() + self.backoff(name)
            self.log(f"process {name} did not come back ({exc}); next try in {self.backoff(name):.0f} s")
            return
        self._due.pop(name, None)
        self._restarted_at[name] = self.clock()
        self.log(f"process {name} is running again")
