"""CSV exports for spreadsheet users: UTF-8 with a BOM, a header row, formula-injection-safe cells.

Used by the edge (`GET /api/v1/admin/progress.csv`, `GET /api/v1/verifier/submissions.csv`) and by the
verifier console's "Unduh CSV" buttons, so both hand out the same bytes.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

BOM = "\ufeff"  # spreadsheet programs read the file as UTF-8 only with it (Indonesian names, gelar)
CONTENT_TYPE = "text/csv; charset=utf-8"
# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PROGRESS_COLUMNS = ("instansi_kode", "roster", "registered", "confirmed", "submitted", "verified", "returned",
                    "not_reregistered", "anomalies")
SUBMISSION_COLUMNS = ("nip", "nama", "status", "submitted_at", "anomaly_count")


def neutralise(value: Any) -> str:
    """The cell's text; a leading `'` keeps a spreadsheet from evaluating text that looks like a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The whole file: BOM, header row, one line per row (CRLF, RFC 4180), every cell neutralised."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def pages(fetch: Callable[[str | None], dict]) -> Iterator[dict]:
    """Every item of a paged RPC answer `{items, next}`, following `next` until it is null."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.get("items") or []
        cursor = page.get("next")
        if not cursor:
            return


def progress_csv(progress: Mapping[str, Any]) -> bytes:
    """`progress.csv`: one row per instansi of an identity `progress` answer."""
    return render(PROGRESS_COLUMNS, progress.get("by_instansi") or [])


def submissions_csv(fetch: Callable[[str | None], dict]) -> bytes:
    """`submissions.csv`: every page of verification's `export_submissions`."""
    return render(SUBMISSION_COLUMNS, pages(fetch))


def filename(stem: str, now: datetime | None = None) -> str:
    """`<stem>-YYYYMMDD.csv`, dated so successive downloads do not overwrite each other."""
    return f"{stem}-{(now or datetime.now(UTC)):%Y%m%d}.csv"


def headers(stem: str) -> dict[str, str]:
    """HTTP headers of a CSV download saved as `<stem>-YYYYMMDD.csv` (personal data: never cached)."""
    return {"Content-Type": CONTENT_TYPE, "Content-Disposition": f'attachment; filename="{filename(stem)}"',
            "Cache-Control": "private, no-store"}
