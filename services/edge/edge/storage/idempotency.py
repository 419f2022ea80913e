"""Idempotency-Key on unsafe requests: a repeat with the same body gets the first answer, unchanged."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from edge.storage.store import MemoryEdgeStore, MongoEdgeStore
from pupns.errors import AppError

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "Content-Disposition")
MAX_KEY_LENGTH = 200


def fingerprint(request: Request, raw_body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\x00")
    digest.update(raw_body)
    return digest.hexdigest()


def should_store(response: Response) -> bool:
    """First answers worth replaying: not server trouble, not throttling, not auth failures."""
    return response.status_code < 500 and response.status_code not in (401, 429)


def run_once(store: MongoEdgeStore | MemoryEdgeStore, owner: str, key: str, request: Request,
             raw_body: bytes, execute: Callable[[], Response]) -> Response:
    """Execute the request unless (owner, key) was seen; replay or refuse repeats."""
    if len(key) > MAX_KEY_LENGTH:
        raise AppError("bad_request", "Idempotency-Key terlalu panjang.")
    print_ = fingerprint(request, raw_body)
    existing = store.claim(owner, key, print_)
    if existing is not None:
        if existing.get("fingerprint") != print_:
            raise AppError("idempotency_conflict",
                           "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda.")
        if existing.get("state") != "done":
            raise AppError("conflict", "Permintaan yang sama sedang diproses. Coba lagi sebentar lagi.",
                           extra={"retry_after": 1})
        headers = dict(existing.get("headers") or {})
        headers["Idempotent-Replayed"] = "true"
        return Response(existing.get("body", b""), status=existing["status"], headers=headers)
    try:
        response = execute()
    except BaseException:
        store.release(owner, key)
        raise
    if should_store(response):
        headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        store.complete(owner, key, {"status": response.status_code, "body": response.get_data(),
                                    "headers": headers})
    else:
        store.release(owner, key)
    return response
