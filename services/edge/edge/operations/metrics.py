"""The edge's Prometheus metrics (prometheus_client): requests by route and status, latency, in-flight, rejections.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py gives each
run one), the values live in that directory and one /metrics answer sums every worker's counters and
histograms (in-flight: the sum over live workers). Without it (unit tests, one process) the values stay in this
object's own registry, so two apps in one test process never share counts.
"""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from edge import settings

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The `_created` series double every counter's lines and no dashboard reads them (the hand-written exposition
# this replaces never had them).
disable_created_metrics()


class _Snapshot:
    """A collector of gauges computed at scrape time by the answering worker (its admission state)."""

    def __init__(self, gauges: Callable[[], dict[str, float]]) -> None:
        self.gauges = gauges

    def collect(self):
        for name, value in self.gauges().items():
            yield GaugeMetricFamily(name, name.removeprefix("pupns_edge_").replace("_", " "), value=value)


class _Registered:
    """A registry seen as one collector, so the scrape-time gauges join it without registering into it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class Metrics:
    """The request counters, the latency histogram and the in-flight gauge of one edge process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("pupns_edge_requests_total", "HTTP requests answered, by route and status.",
                                ("route", "status"), registry=self.registry)
        self.latency = Histogram("pupns_edge_request_seconds", "Request latency, by route.", ("route",),
                                 buckets=BUCKETS, registry=self.registry)
        self.inflight = Gauge("pupns_edge_in_flight", "Requests being handled now.", registry=self.registry,
                              multiprocess_mode="livesum")
        self.rejections = Counter("pupns_edge_admission_rejections_total",
                                  "Requests turned away before any back-end call.", ("reason",),
                                  registry=self.registry)
        self.turned_away = Counter("pupns_edge_turned_away_total",
                                   "Calls admission control turned away after the event loop let them through, by "
                                   "cause; the loop's own turn-aways (route shed) are all gate_full.", ("cause",),
                                   registry=self.registry)
        # The fast turn-away's three series, looked up once: under a flood the event loop counts thousands of
        # turn-aways a second, and each labels() lookup cost more than the increment it led to (~1.5 us each).
        self._shed = (self.requests.labels(route="shed", status="503"), self.latency.labels(route="shed"),
                      self.rejections.labels(reason="queue"))

    def started(self) -> None:
        self.inflight.inc()

    def finished(self, route: str, status: int, seconds: float, started: bool = True) -> None:
        """Count an answer; `started=False` for one that never went through `started()` (a fast turn-away)."""
        if started:
            self.inflight.dec()
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def turned_away_at_once(self, seconds: float) -> None:
        """Count a fast turn-away (503 `queue` before any handler): finished("shed", 503, seconds, started=False)
        and rejected("queue") in one call."""
        requests, latency, rejections = self._shed
        requests.inc()
        latency.observe(seconds)
        rejections.inc()

    def turned_away_because(self, cause: str) -> None:
        """Count why admission control turned a call away (`Admission.on_turn_away`)."""
        self.turned_away.labels(cause=cause).inc()

    def rejected(self, reason: str) -> None:
        self.rejections.labels(reason=reason).inc()

    def render(self, gauges: Callable[[], dict[str, float]] | None = None) -> bytes:
        """The exposition text (format 0.0.4): every worker's values when in multiprocess mode."""
        path = settings.prometheus_multiproc_dir()
        if path:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=path)
        else:
            registry = self.registry
        if gauges is None:
            return generate_latest(registry)
        scrape = CollectorRegistry()
        scrape.register(_Registered(registry))
        scrape.register(_Snapshot(gauges))
        return generate_latest(scrape)
