"""The notifications service's settings: the only place it reads the environment (defaults for local runs)."""
from __future__ import annotations

from dataclasses import dataclass

from notifications.adapters.mailer import DEFAULT_MAIL_FROM
from notifications.domain.email import DEFAULT_BACKOFF
from pupns import config
from pupns.config import env
from pupns.retry_queue import Backoff


@dataclass(frozen=True)
class Settings:
    """Everything the notifications service takes from its environment, read once at start."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = DEFAULT_MAIL_FROM
    public_base_url: str = "http://127.0.0.1:8000"  # the public edge, for links in e-mails
    mail_backoff: Backoff = DEFAULT_BACKOFF
    mail_retry_interval: float = 2.0  # seconds between passes of the delivery retry loop

    @classmethod
    def from_env(cls) -> Settings:
        """PUPNS_SMTP_HOST, PUPNS_SMTP_PORT, PUPNS_MAIL_FROM, PUPNS_PUBLIC_URL (shared, via pupns.config),
        PUPNS_MAIL_RETRY_BASE, PUPNS_MAIL_RETRY_MAX, PUPNS_MAIL_RETRY_INTERVAL."""
        return cls(
            smtp_host=config.smtp_host(), smtp_port=config.smtp_port(), mail_from=config.mail_from(),
            public_base_url=config.public_base_url(),
            mail_backoff=Backoff(float(env("PUPNS_MAIL_RETRY_BASE", "2")), float(env("PUPNS_MAIL_RETRY_MAX", "600"))),
            mail_retry_interval=float(env("PUPNS_MAIL_RETRY_INTERVAL", "2")),
        )
