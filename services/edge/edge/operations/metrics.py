"""A small Prometheus text exposition: requests by route and status, latency, in-flight, rejections."""
from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


class Metrics:
    """Counters and one histogram per route, guarded by one lock (cheap next to a back-end call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[str, float] = defaultdict(float)
        self.inflight = 0
        self.admission_rejections: dict[str, int] = defaultdict(int)

    def started(self) -> None:
        with self._lock:
            self.inflight += 1

    def finished(self, route: str, status: int, seconds: float, started: bool = True) -> None:
        """Count an answer; `started=False` for one that never went through `started()` (a fast turn-away)."""
        with self._lock:
            if started:
                self.inflight -= 1
            self.requests[(route, str(status))] += 1
            counts = self.buckets[route]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[route] += seconds

    def rejected(self, reason: str) -> None:
        with self._lock:
            self.admission_rejections[reason] += 1

    def render(self, gauges: Callable[[], dict[str, float]] | None = None) -> str:
        """The exposition text (format 0.0.4)."""
        lines = ["# HELP pupns_edge_requests_total HTTP requests answered, by route and status.",
                 "# TYPE pupns_edge_requests_total counter"]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f"pupns_edge_requests_total{_labels(route=route, status=status)} {n}")
            lines += ["# HELP pupns_edge_request_seconds Request latency, by route.",
                      "# TYPE pupns_edge_request_seconds histogram"]
            for route, counts in sorted(self.buckets.items()):
                running = 0
                for bound, n in zip((*BUCKETS, "+Inf"), counts, strict=True):
                    running += n
                    lines.append(f"pupns_edge_request_seconds_bucket{_labels(route=route, le=str(bound))} {running}")
                lines.append(f"pupns_edge_request_seconds_sum{_labels(route=route)} {self.sums[route]:.6f}")
                lines.append(f"pupns_edge_request_seconds_count{_labels(route=route)} {running}")
            lines += ["# HELP pupns_edge_in_flight Requests being handled now.", "# TYPE pupns_edge_in_flight gauge",
                      f"pupns_edge_in_flight {self.inflight}",
                      "# HELP pupns_edge_admission_rejections_total Requests turned away before any back-end call.",
                      "# TYPE pupns_edge_admission_rejections_total counter"]
            for reason, n in sorted(self.admission_rejections.items()):
                lines.append(f"pupns_edge_admission_rejections_total{_labels(reason=reason)} {n}")
        for name, value in (gauges() if gauges else {}).items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"
