"""Reading request bodies within their limits: JSON, form-encoded, CSV and multipart uploads."""
from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from pupns.errors import AppError


def media_type(request: Request) -> str:
    """The Content-Type without parameters, lower case."""
    return (request.mimetype or "").lower()


# A refused body up to this size is read and discarded before answering 413: gunicorn drains at most 64 KiB
# of an unread body and otherwise closes the connection after an answer that announced keep-alive, so the
# client's next request on that connection would fail. Larger bodies are not worth reading: they close.
DRAIN_BYTES = 1024 * 1024


def too_large(request: Request) -> AppError:
    """413 `too_large`, with a modest unread remainder discarded so the connection stays usable."""
    declared = request.content_length
    if declared is None or declared <= DRAIN_BYTES:
        left = DRAIN_BYTES
        try:
            while left > 0 and (chunk := request.stream.read(min(left, 64 * 1024))):
                left -= len(chunk)
        except Exception:  # noqa: BLE001 - a client gone mid-body: the answer is still 413
            pass
    return AppError("too_large")


def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) by Content-Length first and again while reading."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(request)
    cached = getattr(request, "_edge_body", None)
    if cached is not None:
        return cached
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(request)
    request._edge_body = data
    return data


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body; 400 `bad_request` when it is not JSON."""
    if not raw.strip():
        raise AppError("bad_request", "Isi permintaan kosong; diharapkan JSON.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AppError("bad_request", "Isi permintaan bukan JSON yang valid.") from None


def json_body(request: Request, limit: int, allow_form: bool = False) -> Any:
    """A JSON body (or a form-encoded one where allowed); 415 for any other Content-Type."""
    kind = media_type(request)
    if kind == "application/json" or kind.endswith("+json"):
        return parse_json(read_capped(request, limit))
    if allow_form and kind == "application/x-www-form-urlencoded":
        raw = read_capped(request, limit)
        from urllib.parse import parse_qsl

        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise AppError("bad_request") from None
    raise AppError("unsupported_type", "Content-Type harus application/json.")


def optional_json_body(request: Request, limit: int) -> Any:
    """Commands whose body is optional: nothing, or JSON."""
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    raw_type = media_type(request)
    if not raw_type:
        return {} if not read_capped(request, limit).strip() else json_body(request, limit)
    return json_body(request, limit)


def csv_body(request: Request, limit: int) -> str:
    """A roster CSV (`text/csv`, UTF-8) of at most `limit` bytes."""
    if media_type(request) != "text/csv":
        raise AppError("unsupported_type", "Content-Type harus text/csv.")
    raw = read_capped(request, limit)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError("bad_request", "Berkas CSV harus berenkode UTF-8.") from None


def multipart_upload(request: Request, limit: int) -> tuple[dict[str, str], Any]:
    """Form fields and the `file` part of a multipart upload, refusing oversize bodies before parsing."""
    if media_type(request) != "multipart/form-data":
        raise AppError("unsupported_type", "Unggahan harus multipart/form-data.")
    if request.content_length is not None and request.content_length > limit:
        raise AppError("too_large")
    request.max_content_length = limit  # also enforced while streaming a chunked body
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise AppError("too_large") from None
    return {k: v for k, v in form.items()}, files.get("file")
