"""Talking to the running services: a nameko cluster proxy, chunked roster upload, progress bars."""
from __future__ import annotations

import csv
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pupns import config

CHUNK_ROWS = 5000
IMPORT_TIMEOUT = 600.0


def cli_actor() -> dict:
    """The administrator on whose behalf the CLI acts (recorded in the audit trail)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"
    return {"id": f"cli:{user}", "role": "admin", "instansi_kode": None}


@contextmanager
def cluster(timeout: float | None = None) -> Iterator[Any]:
    """A ClusterRpcProxy on PUPNS_AMQP_URI (nameko's standalone proxy needs no eventlet patching)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=timeout or config.rpc_timeout()) as proxy:
        yield proxy


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


def roster_chunks(text: str, rows_per_chunk: int = CHUNK_ROWS) -> Iterator[tuple[str, dict[int, int], int]]:
    """Split a roster CSV into chunks that repeat the header.

    Yields (chunk_text, {chunk line -> original line}, rows) so that rejections keep the
    original file's line numbers, even when quoted fields span lines.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        yield text, {}, 0
        return
    buffer, mapping, rows = _new_chunk(header)
    start = reader.line_num + 1
    for record in reader:
        writer = csv.writer(buffer, lineterminator="\n")
        mapping[buffer.getvalue().count("\n") + 1] = start
        writer.writerow(record)
        rows += 1
        start = reader.line_num + 1
        if rows >= rows_per_chunk:
            yield buffer.getvalue(), mapping, rows
            buffer, mapping, rows = _new_chunk(header)
    if rows or not mapping:
        yield buffer.getvalue(), mapping, rows


def _new_chunk(header: list[str]) -> tuple[io.StringIO, dict[int, int], int]:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    return buffer, {1: 1}, 0


def import_roster(text: str, send: Callable[[str], dict], progress: Callable[[int, int], None] | None = None,
                  rows_per_chunk: int = CHUNK_ROWS) -> dict:
    """Send the roster chunk by chunk; merge the answers with original line numbers."""
    total_rows = max(text.count("\n") - 1, 0)
    summary: dict = {"imported": 0, "unchanged": 0, "rejected": []}
    done = 0
    for chunk, mapping, rows in roster_chunks(text, rows_per_chunk):
        answer = send(chunk)
        summary["imported"] += answer["imported"]
        summary["unchanged"] += answer["unchanged"]
        for item in answer["rejected"]:
            summary["rejected"].append({**item, "line": mapping.get(item["line"], item["line"])})
        done += rows
        if progress:
            progress(done, max(total_rows, done))
        if any(item["line"] == 1 for item in answer["rejected"]):
            break  # a header problem rejects every chunk alike
    summary["rejected"] = sorted({(r["line"], r["column"], r["reason"]): r for r in summary["rejected"]}.values(),
                                 key=lambda r: r["line"])
    return summary
