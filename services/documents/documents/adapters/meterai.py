"""The e-Meterai provider adapter: the only place that speaks HTTP to the stamping service.

Every failure becomes `StampFailure(reason, retryable)`. Retryable: no connection, timeout, 5xx, 408/425/429,
an answer that is not the expected JSON. Not retryable (`rejected`): any other 4xx, i.e. the provider refused
this request; the caller still retries it, slowly (see `documents.domain.statement.retry_delay`), because a refusal
is fixed on our side or the provider's (credentials, quota, a provider bug), never by the PNS, and the PNS's
submission must not be left without its stamp.
"""
from __future__ import annotations

import base64
import binascii
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from documents.settings import DEFAULT_METERAI_URL

MAX_ANSWER_BYTES = 16 * 1024 * 1024
RETRYABLE_STATUS = (408, 425, 429)


class StampFailure(Exception):
    """The provider did not stamp; `retryable` is False when it refused the request (4xx)."""

    def __init__(self, reason: str, retryable: bool = True):
        self.reason, self.retryable = reason[:500], retryable
        super().__init__(self.reason)


@dataclass(frozen=True)
class Stamp:
    """A stamped document: the provider's serial and the stamped PDF bytes."""

    serial: str
    pdf: bytes


def parse_answer(raw: bytes) -> Stamp:
    """{serial, stamped_pdf_b64} -> Stamp; anything else is a retryable failure."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise StampFailure(f"bad answer: not JSON ({raw[:60]!r})") from None
    if not isinstance(body, dict) or not isinstance(body.get("serial"), str) or not body["serial"].strip():
        raise StampFailure("bad answer: no serial")
    try:
        stamped = base64.b64decode(body.get("stamped_pdf_b64") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise StampFailure("bad answer: stamped_pdf_b64 is not base64") from None
    if not stamped.startswith(b"%PDF-"):
        raise StampFailure("bad answer: stamped document is not a PDF")
    return Stamp(body["serial"].strip()[:100], stamped)


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read(4096) or b"{}")
        return str(body.get("error") or body)[:200] if isinstance(body, dict) else str(body)[:200]
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else ""


class MeteraiClient:
    """POST {base}/stamp {reference, document_b64}; `reference` lets the provider dedupe our retries."""

    def __init__(self, url: str = DEFAULT_METERAI_URL, timeout: float = 5.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def stamp(self, pdf: bytes, reference: str) -> Stamp:
        body = json.dumps({"reference": reference, "document_b64": base64.b64encode(pdf).decode("ascii")})
        request = urllib.request.Request(
            f"{self.url}/stamp", data=body.encode(), method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": reference})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            retryable = exc.code >= 500 or exc.code in RETRYABLE_STATUS
            label = "unavailable" if retryable else "rejected"
            raise StampFailure(f"{label}: HTTP {exc.code} {_detail(exc)}".strip(), retryable) from None
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StampFailure(f"unreachable: {type(exc).__name__}: {reason}") from None
        return parse_answer(raw)

