"""Building responses: JSON bodies and the one error envelope of SPEC §4."""
from __future__ import annotations

import json
from typing import Any

from pupns.errors import DEFAULT_MESSAGES, STATUS_BY_CODE, AppError
from werkzeug.wrappers import Response

# Codes the edge answers itself that pupns.errors does not know yet (see report: proposed diff).
EDGE_STATUS = {"not_implemented": 501, "method_not_allowed": 405}
EDGE_MESSAGES = {
    "not_implemented": "Fitur ini belum tersedia.",
    "method_not_allowed": "Metode HTTP tidak diizinkan untuk alamat ini.",
}


def status_for(code: str) -> int:
    """HTTP status for an error code: the shared table first, then the edge's additions."""
    return STATUS_BY_CODE.get(code) or EDGE_STATUS.get(code, 400)


def edge_error(code: str, message: str | None = None, fields: dict | None = None,
               extra: dict | None = None) -> AppError:
    """An AppError with the edge's Indonesian default message for codes errors.py lacks."""
    if message is None and code not in DEFAULT_MESSAGES:
        message = EDGE_MESSAGES.get(code)
    return AppError(code, message, fields, extra)


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
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return Response(content, status=200, headers=headers, content_type=content_type)
