"""Send a roster CSV to identity in chunks that keep the original file's line numbers.

Used by the CLI, the edge and the console: a 50 MiB roster is far more than one RPC should
carry or one back-end call should take.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

CHUNK_ROWS = 5000


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
