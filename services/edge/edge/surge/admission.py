"""Admission control: a gradient concurrency limit per edge process, and a fair line shared by all replicas.

The limit is how many requests this process lets reach the back end at once. Every `ADJUST_SECONDS` it
compares the window's median back-end latency with a slowly moving baseline of the lowest latency seen:
while latency stays within `latency_tolerance` x baseline and the limit is actually used, it grows by about
sqrt(limit)/2; when latency says the back end is queueing and the window kept the gate at least half full on
average (SHRINK_WHEN_USED), or the RabbitMQ RPC queue backs up, it shrinks in proportion to how far over it is,
never below `capacity_min` and never above `capacity_max` (which is
kept below the gunicorn threads, so a thread is always free to turn a request away). After a window in which
nothing reached the back end it starts again from `capacity_initial`.

Authenticated sessions have priority (a little headroom over the limit) and are never put back in line.
Everyone else turned away gets 503 `queue` with a signed ticket: its place is its issue time, so a newcomer
costs no MongoDB write (the first newcomer after an idle spell of the monitor reads the other processes' parts of
the line once, so that it is judged on a line at most one sync old). The line (edge.surge.line) holds only live
holders: a holder who does not come back by the time they were given plus a short grace loses the place. A
holder at the head of the line (the first `gate x processes` places) enters when a place is free; a newcomer
enters when a place is free beyond those kept for holders at the head who have come back before. Abandoned
tickets keep nothing free, so capacity is never left idle for a crowd that has gone.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore, MongoEdgeStore, process_name
from edge.surge import tickets
from edge.surge.line import Line
from pupns.errors import AppError

log = logging.getLogger(__name__)
ADJUST_SECONDS = 0.5
MIN_SAMPLES = 8  # fewer samples than this in a window: too noisy to act on
SHRINK = 0.5  # share of the gradient's shortfall applied per adjustment (gradient 0.5 -> x0.75)
BASE_DRIFT = 0.05  # how fast the baseline follows a higher minimum at the floor (a lower one is taken at once)
MAX_SAMPLES = 4096
# The limit shrinks only while the window kept it this busy on average (time-averaged in-flight / limit). A
# gate the back end's slowness does not fill protects nothing by shrinking: the latency rose for another cause
# (on shared cores: two password hashes holding both cores), and shrinking only turns away the next burst.
SHRINK_WHEN_USED = 0.5
LINE_PART_TTL_SECONDS = 10  # a process that stopped publishing its part of the line drops out after this
LINE_REFRESH_SECONDS = LINE_PART_TTL_SECONDS / 2  # an unchanged part is published again this often (stays live)
LINE_IDLE_SECONDS = 10.0  # no newcomer and no line known for this long: the monitor stops reading the parts
LINE_VIEW_MAX_SECONDS = 1.0  # a newcomer finding the other parts older than this reads them first


@dataclass
class Window:
    """Back-end latency samples, the peak in-flight and the in-flight integrated over time since the last
    adjustment."""

    latencies: list[float] = field(default_factory=list)
    peak_inflight: int = 0
    turned_away: int = 0
    started: float = 0.0
    inflight_seconds: float = 0.0  # sum of in-flight x time, up to `Admission._changed_at`

    def since(self, inflight: int, changed_at: float, now: float) -> float:
        """In-flight-seconds of `inflight` held from its last change (or this window's start) to `now`."""
        return inflight * max(0.0, now - max(changed_at, self.started))

    def mean_inflight(self, inflight: int, changed_at: float, now: float) -> float | None:
        """The time-averaged in-flight over the window up to `now`; None for a window of no length."""
        spent = now - self.started
        if spent <= 0:
            return None
        return (self.inflight_seconds + self.since(inflight, changed_at, now)) / spent


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
    wall: object = time.time
    serving_rate: float = 1.0  # places of the line served per second, by every process together (EWMA)
    window: Window = field(default_factory=Window)
    _admitted: int = 0  # anonymous admissions since the last rate update
    _changed_at: float = 0.0  # when `inflight` last changed (the window integrates it over time)
    _last_adjust: float = 0.0
    _last_rate: float = 0.0
    _session_body: tuple[int, bytes] | None = None
    _published: dict | None = None  # this process's part as last published
    _publish_by: float = 0.0
    _read_at: float = -math.inf  # when the other processes' parts were last read
    _anonymous_at: float = -math.inf  # when an anonymous request last asked to enter
    # Told why `enter` turned a call away (edge.operations.metrics): gate_full, kept_for_holders (a newcomer, the
    # gate's free places kept for holders who came back before), holder_not_at_head, session_gate_full.
    on_turn_away: Callable[[str], None] = lambda cause: None

    def __post_init__(self) -> None:
        s = self.settings
        self.limit = self.initial_limit()
        self.line = Line(s.ticket_grace)
        self.process = process_name()
        self._lock = threading.Lock()
        self._last_adjust = self._last_rate = self._changed_at = self.window.started = self.clock()

    # -- gates --------------------------------------------------------------------
    def initial_limit(self) -> float:
        """Where the limit starts (and starts again after an idle window): capacity_initial within min and max."""
        s = self.settings
        return float(min(max(s.capacity_initial, s.capacity_min), s.capacity_max))

    def gates(self) -> tuple[int, int]:
        """(anonymous gate, session gate): sessions may use a quarter more than the limit, up to the ceiling."""
        anonymous = max(1, math.floor(self.limit))
        return anonymous, max(anonymous, min(self.settings.capacity_max, anonymous + max(1, anonymous // 4)))

    def full(self, session: bool, pending: int = 0) -> bool:
        """True when a request of this kind could not enter now (a lock-free read for the fast turn-away): a
        session needs the session gate, a newcomer or holder the anonymous one (`enter` never lets either in at
        or beyond it). `pending`: requests already on their way to `enter`, each of which may take a place."""
        return self.inflight + pending >= self.gates()[1 if session else 0]

    # -- entering and leaving -----------------------------------------------------
    def head(self) -> int:
        """How many places at the head of the line may enter as soon as a place is free."""
        return self.gates()[0] * self.line.processes

    # -- entering and leaving -----------------------------------------------------
    def enter(self, ticket_token: str | None, session: bool) -> None:
        """Take an in-flight slot or raise 503 `queue`; sessions skip the line but not the limit."""
        if session:
            with self._lock:
                if self.inflight < self.gates()[1]:
                    self._take()
                    return
                self.count_turned_away()
            self.on_turn_away("session_gate_full")
            raise self.session_error()
        now = self.wall()
        holder = self.holder(ticket_token, now)
        self._anonymous_at = self.clock()
        if holder is not None and self._at_head(holder):
            self.sync_line()  # about to let a holder in: decide on the other processes' latest parts
        elif self.settings.lazy_sync and self._anonymous_at - self._read_at > LINE_VIEW_MAX_SECONDS:
            self.sync_line()  # the first request after an idle spell: the monitor had stopped reading the parts
        with self._lock:
            gate = self.gates()[0]
            if holder is not None:
                if self.inflight < gate and self._at_head(holder):
                    self.line.leave(holder, now)
                    self._take(admitted=True)
                    return
            elif self.inflight + self._kept_for_holders(gate) < gate:
                self._take(admitted=True)
                return
            self.count_turned_away()
            full = self.inflight >= gate
        self.on_turn_away("gate_full" if full else "holder_not_at_head" if holder is not None else "kept_for_holders")
        raise self.queue_error(holder, now)

    def _at_head(self, holder: tickets.Ticket) -> bool:
        return self.line.ahead(holder) < self.head()

    def holder(self, ticket_token: str | None, now: float) -> tickets.Ticket | None:
        """The presented ticket if it still holds a place (signed, a queue ticket, back in time)."""
        ticket = tickets.verify(ticket_token, self.settings.ticket_ttl, now)
        return ticket if ticket is not None and ticket.live(now, self.settings.ticket_grace) else None

    def _kept_for_holders(self, gate: int) -> int:
        """Places kept free for holders at the head who have come back before (this process's share)."""
        returning = self.line.returning_at_head(self.head())
        return min(gate, math.ceil(returning / self.line.processes))

    def leave(self) -> None:
        with self._lock:
            self._integrate()
            self.inflight = max(0, self.inflight - 1)

    def _take(self, admitted: bool = False) -> None:
        self._integrate()
        self.inflight += 1
        self._admitted += admitted
        self.window.peak_inflight = max(self.window.peak_inflight, self.inflight)

    def _integrate(self) -> None:
        """Add the in-flight since its last change to the window's integral (called, locked, before a change)."""
        now = self.clock()
        self.window.inflight_seconds += self.window.since(self.inflight, self._changed_at, now)
        self._changed_at = now

    def count_turned_away(self) -> None:
        self.rejected += 1
        self.window.turned_away += 1

    def queue_error(self, holder: tickets.Ticket | None, now: float | None = None) -> AppError:
        """503 `queue`: a newcomer gets the back of the line, a holder keeps their place; both are told when to
        come back (and must, within the grace, to keep it)."""
        return AppError("queue", extra={"queue": self.queue_place(holder, now)})

    def queue_place(self, holder: tickets.Ticket | None, now: float | None = None) -> dict:
        """The `queue` object of `queue_error` (ticket, position, retry_after), the place recorded in the line."""
        now = self.wall() if now is None else now
        position = (self.line.ahead(holder) if holder is not None else self.line.waiting()) + 1
        retry_after = self.retry_after(position)
        ticket = (holder or tickets.new_ticket(now, now)).come_back_at(now + retry_after)
        self.line.wait(ticket, returned=holder is not None, now=now)
        return {"ticket": tickets.sign(ticket), "position": position, "retry_after": retry_after}

    def retry_after(self, position: int) -> int:
        """Seconds until `position` is likely at the head of the line, 1 to the longest wait told."""
        beyond = position - self.head()
        if beyond <= 0:
            return 1
        return max(1, min(self.settings.retry_after_max, math.ceil(beyond / max(self.serving_rate, 0.1))))

    def session_error(self) -> AppError:
        """503 `queue` for a session over the limit: come back in a second, no MongoDB operation."""
        now = self.wall()
        slip = tickets.new_ticket(now, now + 1, tickets.SESSION)
        return AppError("queue", extra={"queue": {"ticket": tickets.sign(slip), "position": 0, "retry_after": 1}})

    def session_shed_body(self) -> bytes:
        """The JSON body of `session_error()`, built at most once a second (the fast turn-away's answer)."""
        second = int(time.time())
        cached = self._session_body
        if cached is None or cached[0] != second:
            cached = self._session_body = (second, json.dumps(self.session_error().envelope(), ensure_ascii=False)
                                           .encode())
        return cached[1]

    # -- the shared line ------------------------------------------------------------
    def sync_line(self, read: bool = True) -> None:
        """Publish this process's part of the line and take the other processes' parts (one write, one read); an
        unchanged part is published only every LINE_REFRESH_SECONDS, to stay live (PUPNS_POLL_BACKOFF=0: always)."""
        now, at = datetime.now(UTC), self.clock()
        try:
            part = self.line.part()
            if not self.settings.lazy_sync or part != self._published or at >= self._publish_by:
                self.store.publish_line(self.process, part, now + timedelta(seconds=LINE_PART_TTL_SECONDS))
                self._published, self._publish_by = part, at + LINE_REFRESH_SECONDS
            if read:
                self.line.absorb(self.store.read_line(self.process, now))
                self._read_at = at
        except Exception:
            log.warning("waiting line not shared this time; using the last known parts", exc_info=True)

    def sync_line_in_background(self) -> None:
        """The monitor's sync: the other parts are read while they can matter (a newcomer in the last
        LINE_IDLE_SECONDS, or a line known anywhere); an idle process only keeps its part live. The first newcomer
        after that reads them itself (`enter`), so no admission decides on parts older than a sync or a second."""
        idle = (self.settings.lazy_sync and self.line.waiting() == 0
                and self.clock() - self._anonymous_at >= LINE_IDLE_SECONDS)
        self.sync_line(read=not idle)

    # -- adapting -----------------------------------------------------------------
    def observe_backend(self, seconds: float) -> None:
        with self._lock:
            if len(self.window.latencies) < MAX_SAMPLES:
                self.window.latencies.append(seconds)

    def observe_queue_depth(self, depth: int) -> None:
        self.queue_depth = depth

    def tick(self) -> None:
        """Drop holders who did not come back, follow the serving rate, adjust the limit every ADJUST_SECONDS."""
        self.line.prune(self.wall())
        now = self.clock()
        if now - self._last_adjust >= ADJUST_SECONDS:
            self._follow_serving_rate(now)
            self._adjust(now)

    def _follow_serving_rate(self, now: float) -> None:
        with self._lock:
            admitted, self._admitted = self._admitted, 0
        elapsed = now - self._last_rate
        self._last_rate = now
        if elapsed > 0 and admitted:
            rate = admitted / elapsed * self.line.processes
            self.serving_rate = max(0.1, 0.8 * self.serving_rate + 0.2 * rate)

    def _adjust(self, now: float) -> None:
        s = self.settings
        with self._lock:
            w, self.window = self.window, Window(started=now)
            used = w.mean_inflight(self.inflight, self._changed_at, now)
            self._last_adjust = now
        gradient = self._gradient(w.latencies)
        if used is not None and used < SHRINK_WHEN_USED * self.limit:
            gradient = 1.0  # the gate was not what held the back end's load: keep it (see SHRINK_WHEN_USED)
        if self.queue_depth > s.queue_depth_target:  # the services' RPC queues are backing up
            gradient = min(gradient, max(0.5, s.queue_depth_target / self.queue_depth))
        with self._lock:
            if gradient < 1.0:
                self.limit = max(float(s.capacity_min), self.limit * (1.0 - SHRINK * (1.0 - gradient)))
            elif w.latencies and (w.turned_away or w.peak_inflight >= 0.8 * self.limit):
                step = max(1.0, math.sqrt(self.limit) / 2)
                self.limit = min(float(s.capacity_max), self.limit + step)
            elif not w.latencies and not w.turned_away and self.inflight == 0:
                # A whole window in which nothing reached the back end: no queue is left to protect, so the limit
                # starts again where a fresh process starts (a burst after an idle spell is not judged by the slow
                # spell before it; a real surge shrinks it again within a few windows).
                self.limit = max(self.limit, self.initial_limit())

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
