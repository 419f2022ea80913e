"""Talking to the running services: a nameko cluster proxy, chunked roster upload, progress bars."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pupns import callers, config
from pupns.roster_upload import follow_job


def cli_actor() -> dict:
    """The administrator on whose behalf the CLI acts (recorded in the audit trail)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"
    return {"id": f"cli:{user}", "role": "admin", "instansi_kode": None}


@contextmanager
def cluster(timeout: float | None = None) -> Iterator[Any]:
    """A ClusterRpcProxy on PUPNS_AMQP_URI (nameko's standalone proxy needs no eventlet patching)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    signed = {callers.CONTEXT_KEY: callers.token("cli", cli_actor(), ttl=24 * 3600)}  # a long import may run for hours
    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, context_data=signed,
                         timeout=timeout or config.rpc_timeout()) as proxy:
        yield proxy


def follow(proxy: Any, job: dict, label: str) -> dict:
    """Show a job's progress bar until it ends; returns its last body."""
    progress = Progress(label, job["progress"]["total"])
    try:
        return follow_job(lambda job_id: proxy.identity.get_job(job_id, cli_actor()), job["id"], progress)
    finally:
        progress.finish()


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int, stream=sys.stderr):
        self.label, self.total, self.stream, self.started = label, max(total, 1), stream, time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        total = max(total or self.total, 1)
        width = 30
        filled = int(width * min(done, total) / total)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                          f"({rate:,.0f}/s)")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
