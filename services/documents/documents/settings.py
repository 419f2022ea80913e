"""The documents service's settings: the only place it reads the environment (defaults for local runs)."""
from __future__ import annotations

from dataclasses import dataclass, field

from documents.domain.statement import DEFAULT_BACKOFF
from documents.domain.uploads import KIB, UploadLimits
from pupns.config import env
from pupns.retry_queue import Backoff

DEFAULT_METERAI_URL = "http://127.0.0.1:8009"  # the local e-Meterai simulator


@dataclass(frozen=True)
class Settings:
    """Everything the documents service takes from its environment, read once at start."""

    uploads: UploadLimits = field(default_factory=UploadLimits)
    meterai_url: str = DEFAULT_METERAI_URL
    meterai_timeout: float = 5.0  # bound on one provider call: a hung provider never holds a worker long
    stamp_backoff: Backoff = DEFAULT_BACKOFF
    stamp_retry_interval: float = 2.0  # seconds between passes of the stamping retry loop

    @classmethod
    def from_env(cls) -> Settings:
        """PUPNS_MAX_PDF_BYTES, PUPNS_MAX_JPEG_BYTES, PUPNS_METERAI_URL, PUPNS_METERAI_TIMEOUT,
        PUPNS_METERAI_RETRY_BASE, PUPNS_METERAI_RETRY_MAX, PUPNS_METERAI_RETRY_INTERVAL."""
        return cls(
            uploads=UploadLimits(int(env("PUPNS_MAX_PDF_BYTES", str(1024 * KIB))),
                                 int(env("PUPNS_MAX_JPEG_BYTES", str(200 * KIB)))),
            meterai_url=env("PUPNS_METERAI_URL", DEFAULT_METERAI_URL).rstrip("/"),
            meterai_timeout=float(env("PUPNS_METERAI_TIMEOUT", "5")),
            stamp_backoff=Backoff(float(env("PUPNS_METERAI_RETRY_BASE", "2")),
                                  float(env("PUPNS_METERAI_RETRY_MAX", "300"))),
            stamp_retry_interval=float(env("PUPNS_METERAI_RETRY_INTERVAL", "2")),
        )
