"""Building responses: JSON bodies and the one error envelope of SPEC §4."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from pupns.errors import STATUS_BY_CODE, AppError


def status_for(code: str) -> int:
    """HTTP status for an error code, from the one shared table."""
    return STATUS_BY_CODE.get(code, 400)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response (UTF-8, no ASCII escaping so Indonesian text stays readable)."""
    data = json.dumps(body, ensure_ascii=False, default=str)
    return Response(data, status=status, headers=headers, content_type="application/json; charset=utf-8")


def error_response(exc: AppError, headers: dict | None = None) -> Response:
    """The envelope for any AppError; `Retry-After` when the error says when to come back."""
    extra = dict(exc.extra or {})
    retry_after = extra.pop("retry_after", None)
    queue = extra.get("queue")
    if retry_after is None and isinstance(queue, dict):
        retry_after = queue.get("retry_after")
    body = AppError(exc.code, exc.message, exc.fields, extra).envelope()
    hdrs = dict(headers or {})
    if retry_after is not None:
        hdrs["Retry-After"] = str(max(1, int(round(float(retry_after)))))
    return json_response(body, status_for(exc.code), hdrs)


def binary_response(content: bytes, content_type: str, filename: str | None = None) -> Response:
    """A file answer (PDF, JPEG) shown inline by the browser."""
    headers = {"Cache-Control": "private, no-store"}
    if filename:  # RFC 6266/5987: any file name (Indonesian, Arabic, quotes) survives, with an ASCII fallback
        headers["Content-Disposition"] = content_disposition("inline", filename)
    return Response(content, status=200, headers=headers, content_type=content_type)


def content_disposition(kind: str, filename: str) -> str:
    """`inline` or `attachment` with the name as ASCII (`filename=`) and as UTF-8 (`filename*=`)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "berkas"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
