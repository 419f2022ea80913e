"""Edge settings read from the environment, with documented local defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from pupns.config import env, poll_backoff

KIB = 1024
MIB = 1024 * KIB


def _int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(env(name, str(default)))


def default_capacity_max(threads: int | None = None) -> int:
    """The gunicorn threads of a worker minus a quarter (at least 2) kept free for fast turn-aways."""
    threads = threads if threads is not None else _int("PUPNS_EDGE_THREADS", 8)
    return max(1, threads - max(2, threads // 4))


def prometheus_multiproc_dir() -> str | None:
    """The shared directory of the gunicorn workers' metric values, if the edge runs in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


@dataclass
class Settings:
    """Limits and admission-control knobs of one edge process."""

    max_json_bytes: int = 64 * KIB
    max_csv_bytes: int = 50 * MIB
    max_pdf_bytes: int = field(default_factory=lambda: _int("PUPNS_MAX_PDF_BYTES", MIB))
    max_jpeg_bytes: int = field(default_factory=lambda: _int("PUPNS_MAX_JPEG_BYTES", 200 * KIB))
    # Admission control, per process: the in-flight limit adapts (gradient) between min and max; max stays
    # below the gunicorn threads so a thread is always free to turn a request away at once.
    capacity_initial: int = field(default_factory=lambda: _int("PUPNS_EDGE_CAPACITY", 8))
    # The floor is where the limit sits while the back end's latency stays over its tolerance, as it does on shared
    # cores under a flood. 2 per process: section saves, whose one store process serves fewer saves/s the more run
    # at once, kept 75-96 % of capacity at 10x in four runs with it against 69-73 % in three with 4
    # (bench.write_load on one machine, 2026-12-03, docs/capacity.md); the read path's share moved within its
    # run-to-run noise (43-85 % against 46-80 %).
    capacity_min: int = field(default_factory=lambda: _int("PUPNS_EDGE_CAPACITY_MIN", 2))
    capacity_max: int = field(default_factory=lambda: _int("PUPNS_EDGE_CAPACITY_MAX", default_capacity_max()))
    # The back end's median latency may reach this multiple of its baseline before the limit shrinks.
    latency_tolerance: float = field(default_factory=lambda: _float("PUPNS_EDGE_LATENCY_TOLERANCE", 2.0))
    latency_floor: float = field(default_factory=lambda: _float("PUPNS_EDGE_LATENCY_FLOOR", 0.005))
    queue_depth_target: int = field(default_factory=lambda: _int("PUPNS_EDGE_QUEUE_DEPTH_TARGET", 200))
    rabbit_api: str = field(default_factory=lambda: env("PUPNS_RABBIT_API", "http://guest:guest@127.0.0.1:15672"))
    ticket_ttl: int = field(default_factory=lambda: _int("PUPNS_EDGE_TICKET_TTL", 3600))
    # A holder who is not back by Retry-After plus this grace loses the place (the line never outlives its crowd).
    ticket_grace: float = field(default_factory=lambda: _float("PUPNS_EDGE_TICKET_GRACE", 3.0))
    # The longest wait a newcomer is told (1 to 60 s): past it, a client comes back to hear a nearer estimate.
    retry_after_max: int = field(default_factory=lambda: min(60, max(1, _int("PUPNS_EDGE_RETRY_AFTER_MAX", 60))))
    # Rate limits per authenticated user and per login username (edge.surge.ratelimit): a token bucket in each
    # process, and a shared window of `rate_window` seconds letting rate × window + burst through across all
    # processes and replicas, synchronised through MongoDB every `rate_sync_seconds` off the request path.
    user_rate: float = field(default_factory=lambda: _float("PUPNS_EDGE_USER_RATE", 10.0))
    user_burst: float = field(default_factory=lambda: _float("PUPNS_EDGE_USER_BURST", 30.0))
    login_rate: float = field(default_factory=lambda: _float("PUPNS_EDGE_LOGIN_RATE", 0.2))
    login_burst: float = field(default_factory=lambda: _float("PUPNS_EDGE_LOGIN_BURST", 10.0))
    # Failed anonymous registration attempts (unknown NIP, wrong NIK) per client address and minute (SPEC Abuse);
    # the address is the peer's, or the one `proxy_hops` trusted proxies in front of the edge put in X-Forwarded-For.
    registration_failures_per_minute: int = field(
        default_factory=lambda: _int("PUPNS_EDGE_REGISTRATION_FAILURES_PER_MINUTE", 30))
    proxy_hops: int = field(default_factory=lambda: _int("PUPNS_EDGE_PROXY_HOPS", 0))
    rate_window: int = field(default_factory=lambda: _int("PUPNS_EDGE_RATE_WINDOW", 10))
    rate_sync_seconds: float = field(default_factory=lambda: _float("PUPNS_EDGE_RATE_SYNC_SECONDS", 0.3))
    # Syncs skip what cannot have changed (pupns.config.poll_backoff; PUPNS_POLL_BACKOFF=0: every part, every sync).
    lazy_sync: bool = field(default_factory=poll_backoff)
    unavailable_retry_after: int = 2
    background: bool = True

    def max_upload_bytes(self) -> int:
        """The largest upload any kind may have (checked before the body is read)."""
        return max(self.max_pdf_bytes, self.max_jpeg_bytes)
