"""SMTP delivery (the only place that speaks SMTP)."""
from __future__ import annotations

import smtplib
import threading
import time
from datetime import UTC, datetime
from email import charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import ClassVar

SMTP_TIMEOUT_SECONDS = 10
MAX_KEPT = 4  # idle connections kept per server and process
MAX_IDLE_SECONDS = 20.0  # well under common SMTP idle timeouts (RFC 5321 asks servers to wait at least 5 minutes)
DEFAULT_MAIL_FROM = "noreply@pupns.bkn.go.id"
UTF8_QP = charset.Charset("utf-8")
UTF8_QP.body_encoding = UTF8_QP.header_encoding = charset.QP


class DeliveryFailed(Exception):
    """The SMTP server could not be reached or refused the message."""


def build_message(to: str, subject: str, body: str, message_id: str,
                  mail_from: str = DEFAULT_MAIL_FROM) -> MIMEText:
    """A UTF-8 plain-text message, quoted-printable; the Subject is RFC 2047-encoded when it is not ASCII.

    Built under the email package's compat32 policy: its headers are stored as given, where EmailMessage's default
    policy parses every header into a token tree and refolds it when flattened, four times the CPU of this message
    (measured: 2.1 against 0.5 ms), paid for every e-mail of a registration day. The values are ours or validated
    (an address the schema checked), so nothing here needs that parser."""
    msg = MIMEText(body, "plain", UTF8_QP)
    msg["From"] = formataddr(("PUPNS BKN", mail_from))
    msg["To"] = to
    msg["Subject"] = subject if subject.isascii() else Header(subject, UTF8_QP, header_name="Subject")
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{message_id}@pupns>"  # stable: a resend is recognisable as the same mail
    return msg


class SmtpMailer:
    """Sends messages to the configured SMTP server over a few kept-open connections (one SMTP session per message
    costs a connect, a greeting, EHLO and QUIT: more than the message itself on a registration day)."""

    _idle: ClassVar[dict[tuple[str, int], list[tuple[float, smtplib.SMTP]]]] = {}  # per server, this process's
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, host: str, port: int, mail_from: str = DEFAULT_MAIL_FROM):
        self.host, self.port, self.mail_from = host, port, mail_from

    def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        msg = build_message(to, subject, body, message_id, self.mail_from)
        kept = self._take()
        if kept is not None:
            try:
                kept.send_message(msg)
                self._give_back(kept)
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError):
                _close(kept)  # the server dropped an idle connection: one fresh try below
            except (smtplib.SMTPException, OSError) as exc:
                _close(kept)
                raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            fresh = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            fresh.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            _close(fresh)
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        self._give_back(fresh)

    def _take(self) -> smtplib.SMTP | None:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault((self.host, self.port), [])
            while idle:
                since, smtp = idle.pop()
                if now - since < MAX_IDLE_SECONDS:
                    return smtp
                _close(smtp)  # servers drop idle sessions: rather not find out mid-message
        return None

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            idle = self._idle.setdefault((self.host, self.port), [])
            if len(idle) < MAX_KEPT:
                idle.append((time.monotonic(), smtp))
                return
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
