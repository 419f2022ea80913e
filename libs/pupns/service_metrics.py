"""Prometheus metrics of a nameko service process, served on PUPNS_METRICS_PORT when it is set."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from prometheus_client import start_http_server

from pupns import config

log = logging.getLogger(__name__)
_started: set[int] = set()  # one exposition server per process, whatever the number of services in it


class MetricsEndpoint(DependencyProvider):
    """Starts the process's /metrics server (prometheus_client's default registry) with the service."""

    def start(self) -> None:
        port = config.metrics_port()
        if port is None or port in _started:
            return
        start_http_server(port, addr=config.metrics_bind())
        _started.add(port)
        log.info("metrics of %s on :%s/metrics", self.container.service_name, port)
