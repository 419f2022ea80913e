"""SMTP delivery (the only place that speaks SMTP)."""
from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

SMTP_TIMEOUT_SECONDS = 10
DEFAULT_MAIL_FROM = "noreply@pupns.bkn.go.id"


class DeliveryFailed(Exception):
    """The SMTP server could not be reached or refused the message."""


def build_message(to: str, subject: str, body: str, message_id: str,
                  mail_from: str = DEFAULT_MAIL_FROM) -> EmailMessage:
    """A UTF-8 plain-text message; the Subject is RFC 2047-encoded when it is not ASCII."""
    msg = EmailMessage()
    msg["From"] = formataddr(("PUPNS BKN", mail_from))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{message_id}@pupns>"  # stable: a resend is recognisable as the same mail
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    return msg


class SmtpMailer:
    """Sends one message per connection to the configured SMTP server."""

    def __init__(self, host: str, port: int, mail_from: str = DEFAULT_MAIL_FROM):
        self.host, self.port, self.mail_from = host, port, mail_from

    def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        msg = build_message(to, subject, body, message_id, self.mail_from)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc

