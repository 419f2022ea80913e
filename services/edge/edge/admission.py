"""Admission control: a gradient concurrency limit per edge process, and a fair line shared by all replicas.

The limit is how many requests this process lets reach the back end at once. Every `ADJUST_SECONDS` it
compares the window's median back-end latency with a slowly moving baseline of the lowest latency seen:
while latency stays within `latency_tolerance` x baseline and the limit is actually used, it grows by about
sqrt(limit)/2; when latency (or the RabbitMQ RPC queue) says the back end is queueing, it shrinks in
proportion to how far over it is, never below `capacity_min` and never above `capacity_max` (which is
kept below the gunicorn threads, so a thread is always free to turn a request away).

Authenticated sessions have priority (a little headroom over the limit) and are never put back in line;
anonymous newcomers enter only when nobody is waiting; everyone else gets 503 `queue` with a signed
ticket. Ticket numbers come from one MongoDB counter (FIFO across replicas): one `$inc` per newcomer,
zero MongoDB operations for a ticket presented again or for a session turned away.
"""
from __future__ import annotations

import json
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
ADJUST_SECONDS = 0.5
MIN_SAMPLES = 8  # fewer samples than this in a window: too noisy to act on
SHRINK = 0.5  # share of the gradient's shortfall applied per adjustment (gradient 0.5 -> x0.75)
BASE_DRIFT = 0.05  # how fast the baseline follows a higher minimum at the floor (a lower one is taken at once)
MAX_SAMPLES = 4096
NEAR_HEAD = 64  # a ticket this close to the head is checked against a fresh ledger before it is refused


@dataclass
class Window:
    """Back-end latency samples and the peak in-flight seen since the last adjustment."""

    latencies: list[float] = field(default_factory=list)
    peak_inflight: int = 0
    turned_away: int = 0


@dataclass
class Admission:
    """In-flight slots against an adaptive limit; tickets enter when their seq <= the global `serving`."""

    settings: Settings
    store: MongoEdgeStore | MemoryEdgeStore
    clock: object = time.monotonic
    inflight: int = 0
    limit: float = 0.0
    baseline: float | None = None  # seconds: slowly moving minimum of the back-end latency
    median: float = 0.0  # seconds: last window's median back-end latency
    queue_depth: int = 0
    rejected: int = 0
    serving_rate: float = 1.0  # tickets admitted per second, globally (EWMA)
    window: Window = field(default_factory=Window)
    reservations: deque = field(default_factory=deque)  # (expires_at, n) places promised to ticket holders
    _state: tuple[int, int] = (0, 0)
    _state_at: float = -1.0
    _last_adjust: float = 0.0
    _last_serving: tuple[float, int] | None = None
    _session_body: tuple[int, bytes] | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self.limit = float(min(max(s.capacity_initial, s.capacity_min), s.capacity_max))
        self._lock = threading.Lock()
        self._last_adjust = self.clock()

    # -- gates --------------------------------------------------------------------
    def gates(self) -> tuple[int, int]:
        """(anonymous gate, session gate): sessions may use a quarter more than the limit, up to the ceiling."""
        anonymous = max(1, math.floor(self.limit))
        return anonymous, max(anonymous, min(self.settings.capacity_max, anonymous + max(1, anonymous // 4)))

    def saturated(self) -> bool:
        """True when nobody at all could enter now (a lock-free read for the fast turn-away)."""
        return self.inflight >= self.gates()[1]

    # -- entering and leaving -----------------------------------------------------
    def enter(self, ticket_token: str | None, session: bool) -> None:
        """Take an in-flight slot or raise 503 `queue`; sessions skip the line but not the limit."""
        if session:
            with self._lock:
                if self.inflight < self.gates()[1]:
                    self._take()
                    return
                self._turned_away()
            raise self.session_error()
        ticket = tickets.verify(ticket_token, self.settings.ticket_ttl)
        if ticket is not None and ticket.kind != tickets.QUEUE:
            ticket = None  # a session's retry ticket is no place in the line
        issued, serving = self._ledger()
        if ticket is not None and serving < ticket.seq <= serving + NEAR_HEAD:
            issued, serving = self._ledger(fresh=True)  # near the head: another replica may just have called it
        with self._lock:
            gate = self.gates()[0]
            if ticket is not None and ticket.seq <= serving and self.inflight < gate:
                self._consume_reservation()
                self._take()
                return
            if ticket is None and issued <= serving and self.inflight + self._reserved() < gate:
                self._take()
                return
            self._turned_away()
        if ticket is None:
            ticket, ticket_token = tickets.new_ticket(self.store.issue()), None
            with self._lock:
                self._state = (max(self._state[0], ticket.seq), self._state[1])
        raise self.queue_error(ticket, serving, ticket_token)

    def leave(self) -> None:
        with self._lock:
            self.inflight = max(0, self.inflight - 1)

    def _take(self) -> None:
        self.inflight += 1
        self.window.peak_inflight = max(self.window.peak_inflight, self.inflight)

    def _turned_away(self) -> None:
        self.rejected += 1
        self.window.turned_away += 1

    def queue_error(self, ticket: tickets.Ticket, serving: int | None = None, signed: str | None = None) -> AppError:
        """503 `queue` with the ticket, its position and when to come back (`signed`: the ticket as presented,
        handed back as it is instead of signing it again)."""
        serving = self._state[1] if serving is None else serving
        position = max(0, ticket.seq - serving)
        retry_after = max(1, min(60, math.ceil(position / max(self.serving_rate, 0.1)))) if position else 1
        queue = {"ticket": signed or tickets.sign(ticket), "position": position, "retry_after": retry_after}
        return AppError("queue", extra={"queue": queue})

    def session_error(self) -> AppError:
        """503 `queue` for a session over the limit: come back in a second, no MongoDB operation."""
        ticket = tickets.Ticket(0, int(time.time()), tickets.SESSION)
        return AppError("queue", extra={"queue": {"ticket": tickets.sign(ticket), "position": 0, "retry_after": 1}})

    def session_shed_body(self) -> bytes:
        """The JSON body of `session_error()`, built at most once a second (the fast turn-away's answer)."""
        second = int(time.time())
        cached = self._session_body
        if cached is None or cached[0] != second:
            cached = self._session_body = (second, json.dumps(self.session_error().envelope(), ensure_ascii=False)
                                           .encode())
        return cached[1]

    # -- the global ledger --------------------------------------------------------
    def _ledger(self, fresh: bool = False) -> tuple[int, int]:
        now = self.clock()
        if fresh or now - self._state_at > LEDGER_CACHE_SECONDS:
            try:
                issued, serving = self.store.queue_state()
                with self._lock:
                    self._state, self._state_at = (max(issued, self._state[0]), serving), now
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
            if len(self.window.latencies) < MAX_SAMPLES:
                self.window.latencies.append(seconds)

    def observe_queue_depth(self, depth: int) -> None:
        self.queue_depth = depth

    def tick(self) -> None:
        """Adjust the limit every ADJUST_SECONDS; hand free places to the head of the line."""
        now = self.clock()
        if now - self._last_adjust >= ADJUST_SECONDS:
            self._adjust(now)
        self._advance(now)

    def _adjust(self, now: float) -> None:
        s = self.settings
        with self._lock:
            w, self.window = self.window, Window()
            self._last_adjust = now
        gradient = self._gradient(w.latencies)
        if self.queue_depth > s.queue_depth_target:  # the services' RPC queues are backing up
            gradient = min(gradient, max(0.5, s.queue_depth_target / self.queue_depth))
        with self._lock:
            if gradient < 1.0:
                self.limit = max(float(s.capacity_min), self.limit * (1.0 - SHRINK * (1.0 - gradient)))
            elif w.latencies and (w.turned_away or w.peak_inflight >= 0.8 * self.limit):
                step = max(1.0, math.sqrt(self.limit) / 2)
                self.limit = min(float(s.capacity_max), self.limit + step)

    def _gradient(self, latencies: list[float]) -> float:
        """baseline x tolerance / median, within [0.5, 1]; 1 when the window is too small to judge."""
        if len(latencies) < MIN_SAMPLES:
            return 1.0
        ordered = sorted(latencies)
        low, self.median = ordered[len(ordered) // 10], ordered[len(ordered) // 2]
        if self.baseline is None or low < self.baseline:
            self.baseline = low
        else:  # at the floor there is no queueing left to blame: what we see is the new baseline
            at_floor = self.limit <= 1.5 * self.settings.capacity_min
            self.baseline += (BASE_DRIFT if at_floor else BASE_DRIFT / 10) * (low - self.baseline)
        if self.median <= 0:
            return 1.0
        allowed = self.settings.latency_tolerance * max(self.baseline, self.settings.latency_floor)
        return min(1.0, max(0.5, allowed / self.median))

    def _advance(self, now: float) -> None:
        self._state_at = -1.0  # read fresh
        issued, serving = self._ledger()
        if self._last_serving is not None and now > self._last_serving[0]:
            rate = (serving - self._last_serving[1]) / (now - self._last_serving[0])
            self.serving_rate = max(0.1, 0.8 * self.serving_rate + 0.2 * rate) if rate > 0 else self.serving_rate
        self._last_serving = (now, serving)
        with self._lock:
            free = self.gates()[0] - self.inflight - self._reserved()
        waiting = issued - serving
        if free <= 0 or waiting <= 0:
            return
        step = min(free, waiting)
        try:
            if self.store.advance(serving, serving + step):
                with self._lock:
                    self.reservations.append((now + self.settings.reservation_seconds, step))
                    self._state = (self._state[0], max(self._state[1], serving + step))
        except Exception:
            log.warning("could not advance the queue", exc_info=True)
