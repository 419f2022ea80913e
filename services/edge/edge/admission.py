"""Admission control: bounded in-flight work against an adaptive capacity, and a fair global queue."""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from edge import tickets
from edge.settings import Settings
from edge.store import MemoryEdgeStore, MongoEdgeStore
from pupns.errors import AppError

log = logging.getLogger(__name__)
LEDGER_CACHE_SECONDS = 0.2


@dataclass
class Window:
    """Back-end latency samples and peak in-flight seen since the last adjustment."""

    latency_sum: float = 0.0
    samples: int = 0
    peak_inflight: int = 0
    completed: int = 0


@dataclass
class Admission:
    """AIMD capacity (latency vs target, broker queue depth); tickets enter when seq ≤ serving."""

    settings: Settings
    store: MongoEdgeStore | MemoryEdgeStore
    clock: object = time.monotonic
    inflight: int = 0
    limit: float = 0.0
    queue_depth: int = 0
    rejected: int = 0
    serving_rate: float = 1.0  # tickets admitted per second, globally (EWMA)
    window: Window = field(default_factory=Window)
    reservations: deque = field(default_factory=deque)  # (expires_at, n) places promised to ticket holders
    _state: tuple[int, int] = (0, 0)
    _state_at: float = -1.0
    _last_adjust: float = 0.0
    _last_serving: tuple[float, int] | None = None

    def __post_init__(self) -> None:
        self.limit = float(self.settings.capacity_initial)
        self._lock = threading.Lock()
        self._last_adjust = self.clock()

    # -- entering and leaving -----------------------------------------------------
    def enter(self, ticket_token: str | None, bypass: bool) -> None:
        """Take an in-flight slot or raise 503 `queue` with a ticket; `bypass` always enters."""
        if bypass:
            with self._lock:
                self._take()
            return
        ticket = tickets.verify(ticket_token, self.settings.ticket_ttl)
        issued, serving = self._ledger()
        with self._lock:
            reserved = self._reserved()
            cap = math.floor(self.limit)
            if ticket is not None and ticket.seq <= serving and self.inflight < cap:
                self._consume_reservation()
                self._take()
                return
            if ticket is None and issued <= serving and self.inflight + reserved < cap:
                self._take()
                return
            self.rejected += 1
        if ticket is None:
            ticket = tickets.new_ticket(self.store.issue())
        raise self._queue_error(ticket, serving)

    def leave(self) -> None:
        with self._lock:
            self.inflight = max(0, self.inflight - 1)
            self.window.completed += 1

    def _take(self) -> None:
        self.inflight += 1
        self.window.peak_inflight = max(self.window.peak_inflight, self.inflight)

    def _queue_error(self, ticket: tickets.Ticket, serving: int) -> AppError:
        position = max(0, ticket.seq - serving)
        retry_after = max(1, min(60, math.ceil(position / max(self.serving_rate, 0.1)))) if position else 1
        queue = {"ticket": tickets.sign(ticket), "position": position, "retry_after": retry_after}
        return AppError("queue", extra={"queue": queue})

    # -- the global ledger --------------------------------------------------------
    def _ledger(self) -> tuple[int, int]:
        now = self.clock()
        if now - self._state_at > LEDGER_CACHE_SECONDS:
            try:
                self._state, self._state_at = self.store.queue_state(), now
            except Exception:
                log.warning("queue ledger unreadable; using the last known state", exc_info=True)
        return self._state

    def _reserved(self) -> int:
        now = self.clock()
        while self.reservations and self.reservations[0][0] <= now:
            self.reservations.popleft()
        return sum(n for _, n in self.reservations)

    def _consume_reservation(self) -> None:
        if self.reservations:
            expires, n = self.reservations[0]
            if n <= 1:
                self.reservations.popleft()
            else:
                self.reservations[0] = (expires, n - 1)

    # -- adapting -----------------------------------------------------------------
    def observe_backend(self, seconds: float) -> None:
        with self._lock:
            self.window.latency_sum += seconds
            self.window.samples += 1

    def observe_queue_depth(self, depth: int) -> None:
        self.queue_depth = depth

    def tick(self) -> None:
        """Adjust capacity once a second; hand free places to the head of the line."""
        now = self.clock()
        if now - self._last_adjust >= 1.0:
            self._adjust(now)
        self._advance(now)

    def _adjust(self, now: float) -> None:
        s = self.settings
        with self._lock:
            w, self.window = self.window, Window()
            self._last_adjust = now
            mean = w.latency_sum / w.samples if w.samples else 0.0
            if (w.samples and mean > s.latency_target) or self.queue_depth > s.queue_depth_target:
                self.limit = max(float(s.capacity_min), self.limit * 0.75)
            elif w.peak_inflight >= 0.8 * self.limit:
                self.limit = min(float(s.capacity_max), self.limit + max(1.0, self.limit * 0.05))

    def _advance(self, now: float) -> None:
        self._state_at = -1.0  # read fresh
        issued, serving = self._ledger()
        if self._last_serving is not None and now > self._last_serving[0]:
            rate = (serving - self._last_serving[1]) / (now - self._last_serving[0])
            self.serving_rate = max(0.1, 0.8 * self.serving_rate + 0.2 * rate) if rate > 0 else self.serving_rate
        self._last_serving = (now, serving)
        with self._lock:
            free = math.floor(self.limit) - self.inflight - self._reserved()
        waiting = issued - serving
        if free <= 0 or waiting <= 0:
            return
        step = min(free, waiting)
        try:
            if self.store.advance(serving, serving + step):
                with self._lock:
                    self.reservations.append((now + self.settings.reservation_seconds, step))
                self._state = (issued, serving + step)
        except Exception:
            log.warning("could not advance the queue", exc_info=True)
