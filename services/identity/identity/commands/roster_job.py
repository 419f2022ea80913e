"""The roster import job: the CSV is staged once in chunks, then imported chunk by chunk.

Each chunk's roster events and the job's checkpoint past it commit in one transaction, so a runner killed at any
moment leaves either the whole chunk applied and counted, or nothing of it: the resumed job loses no row, counts
none twice and appends no event twice. Counts are exact across restarts.
"""
from __future__ import annotations

import re
import time
from datetime import date, timedelta

from identity.adapters import Deps
from identity.commands.roster import ClearRow, roster_part
from identity.domain.roster import parse_roster
from pupns import jobs
from pupns.actors import Actor, require_role
from pupns.errors import AppError
from pupns.eventstore import ConcurrencyError

KIND = "roster_import"
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
MAX_CHUNK_CHARS = 4 * 1024 * 1024
ABANDONED_AFTER = timedelta(hours=24)
SWEEP_SECONDS = 600.0


def upload_subject(upload_id: str) -> str:
    """The key-store subject that seals a staged upload's text."""
    return f"upload:{upload_id}"


def chunk_id(upload_id: str, n: int) -> str:
    return f"{upload_id}:{n:06d}"


def _bad(message: str) -> AppError:
    return AppError("validation_error", message)


def _valid_chunk(chunk: object) -> bool:
    return (isinstance(chunk, dict) and isinstance(chunk.get("n"), int) and chunk["n"] >= 0
            and isinstance(chunk.get("text"), str) and len(chunk["text"]) <= MAX_CHUNK_CHARS
            and isinstance(chunk.get("rows"), int) and isinstance(chunk.get("lines"), list))


def stage_chunks(deps: Deps, upload_id: str, chunks: list[dict], actor: Actor) -> dict:
    """Keep chunks of an uploaded roster (`{n, text, lines: [[chunk line, file line]...], rows}`) for a job."""
    require_role(actor, "admin")
    if not isinstance(upload_id, str) or not UPLOAD_ID.fullmatch(upload_id) or not isinstance(chunks, list):
        raise _bad("Unggahan data induk tidak dikenali.")
    if not all(_valid_chunk(chunk) for chunk in chunks):
        raise _bad("Potongan data induk tidak valid.")
    for chunk in chunks:  # the same chunk staged twice (a retried call) is stored once
        # Sealed under the upload's own key-store subject: staged rows hold NIKs of many PNS (SPEC §7).
        deps.uploads.stage(chunk_id(upload_id, chunk["n"]), {
            "upload_id": upload_id, "n": chunk["n"], "text": deps.codec.seal(upload_subject(upload_id), chunk["text"]),
            "rows": chunk["rows"],
            "lines": [[int(a), int(b)] for a, b in chunk["lines"]], "staged_by": actor.get("id")})
    return {"staged": len(chunks)}


_next_sweep = {"at": 0.0}


def sweep(deps: Deps) -> None:
    """Now and then (every 10 minutes per process), drop abandoned uploads."""
    if time.monotonic() >= _next_sweep["at"]:
        _next_sweep["at"] = time.monotonic() + SWEEP_SECONDS
        drop_abandoned_uploads(deps)


def drop_abandoned_uploads(deps: Deps, older_than: timedelta = ABANDONED_AFTER) -> int:
    """Delete staged chunks no job took (an upload cut off before its job started), once they are old; returns how
    many chunks."""
    active = [source["upload_id"] for source in deps.read.active_job_inputs(KIND)]
    return sum(drop_upload(deps, upload_id) for upload_id in deps.uploads.older_than(older_than, active))


def drop_upload(deps: Deps, upload_id: str) -> int:
    """Delete an upload's chunks, then its key: a copy of a chunk left anywhere (a backup) can no longer be opened."""
    dropped = deps.uploads.drop(upload_id)
    deps.codec.discard(upload_subject(upload_id))
    return dropped


def start_import(deps: Deps, upload_id: str, actor: Actor, idempotency_key: str | None = None) -> dict:
    """A job importing every staged chunk of `upload_id`; the same idempotency key returns the same job."""
    require_role(actor, "admin")
    staged = deps.uploads.staged(upload_id)
    if not staged:
        raise _bad("Berkas data induk kosong atau belum diunggah.")
    if [doc["n"] for doc in staged] != list(range(len(staged))):
        raise _bad("Unggahan data induk tidak lengkap; unggah ulang berkasnya.")
    total = sum(doc["rows"] for doc in staged)
    job = jobs.submit(deps.store, KIND, total, {"upload_id": upload_id, "chunks": len(staged)}, actor,
                      idempotency_key)
    if deps.read.job_input(job["id"]).get("upload_id") != upload_id:
        drop_upload(deps, upload_id)  # a repeat: the first upload is the job's input
    return job


def step(deps: Deps, run: jobs.JobRun, deadline: float, today: date | None = None) -> bool:
    """Import chunks until the deadline; True once the job is finished."""
    source = run.job["input"]
    while (n := run.cursor.get("chunk", 0)) < source["chunks"]:
        if time.monotonic() >= deadline:
            return False
        doc = deps.uploads.chunk(chunk_id(source["upload_id"], n))
        if doc is None:
            raise AppError("internal_error", f"Potongan {n} berkas data induk hilang; unggah ulang berkasnya.")
        if _import_chunk(deps, run, doc, today):
            break  # the header is wrong: every chunk would be rejected alike
    counts = run.job.get("counts") or {}
    run.finish({"imported": counts.get("imported", 0), "unchanged": counts.get("unchanged", 0),
                "rejected": run.job.get("items") or [], "rejected_total": counts.get("rejected", 0)})
    drop_upload(deps, source["upload_id"])
    return True


def _import_chunk(deps: Deps, run: jobs.JobRun, doc: dict, today: date | None) -> bool:
    """One chunk and the checkpoint past it, in one transaction; True when the header was rejected."""
    parsed = parse_roster(deps.codec.open_(upload_subject(doc["upload_id"]), doc["text"]), today)
    lines = {a: b for a, b in doc["lines"]}
    rejected = [{**r.as_dict(), "line": lines.get(r.line, r.line)} for r in parsed.rejected]
    view = deps.roster_view()
    entries = [ClearRow.of(line, row) for line, row in parsed.rows]
    view.prefetch((e.row["nip"] for e in entries), (e.nik_bi for e in entries))
    parts, unchanged = [], 0
    deps.codec.warm(entry.row["nip"] for entry in entries)
    for entry in entries:
        known = view.known(entry.row["nip"]) or {}
        if known.get("fingerprint") == entry.fingerprint:
            unchanged += 1
            continue
        parts.append(roster_part(deps.codec, entry, known.get("version", 0)))
    header_bad = any(item["line"] == 1 for item in rejected)
    done = run.job["total"] if header_bad else run.job.get("done", 0) + doc["rows"]
    counts = {"imported": len(parts), "unchanged": unchanged, "rejected": len(rejected)}
    try:
        run.checkpoint(done, {"chunk": doc["n"] + 1}, counts, rejected, parts, projection=view.apply_many)
    except ConcurrencyError:
        for part in parts:
            view.forget(part.nip or "")
        raise
    return header_bad
