"""The client side of jobs, for the CLI, the edge and the console.

A roster CSV goes to identity in chunks that keep the original file's line numbers: a 50 MiB roster is far
more than one RPC should carry or one back-end call should take. `upload_roster` stages the chunks in identity
(stored once) and starts the import job that works through them; `start_job` starts a job so that a lost answer
never hides the job that runs; `follow_job` polls one until it ends.
"""
from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from pupns.errors import AppError

JOB_CHUNK_ROWS = 1000  # one job step (one transaction) per staged chunk
CHUNKS_PER_CALL = 4  # about 1 MB per staging RPC
START_ATTEMPTS = 3


def roster_chunks(text: str, rows_per_chunk: int = JOB_CHUNK_ROWS) -> Iterator[tuple[str, dict[int, int], int]]:
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


def upload_roster(text: str, call: Callable[..., Any], idempotency_key: str | None = None,
                  rows_per_chunk: int = JOB_CHUNK_ROWS) -> dict:
    """Stage the CSV in identity, then start its import job; returns the job body.

    `call(method, *args, **kwargs)` calls an identity RPC on behalf of the administrator (the caller binds
    the actor): `stage_roster_chunks(upload_id, chunks)` and `start_roster_import(upload_id, idempotency_key=)`.
    """
    upload_id, batch = uuid.uuid4().hex, []
    for n, (chunk, mapping, rows) in enumerate(roster_chunks(text, rows_per_chunk)):
        batch.append({"n": n, "text": chunk, "lines": sorted(mapping.items()), "rows": rows})
        if len(batch) >= CHUNKS_PER_CALL:
            call("stage_roster_chunks", upload_id, batch)
            batch = []
    if batch:
        call("stage_roster_chunks", upload_id, batch)
    return start_job(lambda key: call("start_roster_import", upload_id, idempotency_key=key), idempotency_key)


def start_job(call: Callable[[str], dict], idempotency_key: str | None) -> dict:
    """Start a job with `call(key)`; a start whose answer was lost (the RPC deadline passed) is asked again with
    the same key, so the caller hears of the job that runs instead of "unavailable" for work that goes on."""
    key = idempotency_key or f"auto-{uuid.uuid4().hex}"
    for attempt in range(START_ATTEMPTS):
        try:
            return call(key)
        except AppError as exc:
            if exc.code != "unavailable" or attempt == START_ATTEMPTS - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def follow_job(get: Callable[[str], dict], job_id: str, progress: Callable[[int, int], None] | None = None,
               interval: float = 0.5, timeout: float | None = None) -> dict:
    """Poll a job until it is done or failed, reporting its progress; returns its last body."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = get(job_id)
        if progress:
            progress(job["progress"]["done"], job["progress"]["total"])
        if job["status"] in ("done", "failed"):
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")
        time.sleep(interval)
