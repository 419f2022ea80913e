"""Identity rules: passwords, registration numbers, account status, login throttle, dates."""
from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

# Registration numbers avoid characters people misread on paper (0/O, 1/I).
REGISTRATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REGISTRATION_PATTERN = re.compile(rf"^PUPNS-\d{{4}}-[{REGISTRATION_ALPHABET}]{{8}}$")
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,31}$")
MIN_PASSWORD_LENGTH = 10

# Login throttle: after this many consecutive failures the username is locked for a window
# that doubles with every further failure, up to the cap.
THROTTLE_FAILURES = 5
THROTTLE_BASE_SECONDS = 30
THROTTLE_MAX_SECONDS = 15 * 60
THROTTLE_DECAY_SECONDS = 5 * 60  # every quiet 5 minutes forget one failure: a lockout decays by itself

# Registration: after this many `nik_mismatch` answers for one NIP within the window, 429 for that NIP (SPEC Abuse).
NIK_GUESSES = 5
NIK_GUESS_WINDOW_SECONDS = 24 * 3600

# Event type -> label shown on the PNS's timeline.
TIMELINE_LABELS = {
    "RegistrationSubmitted": "registered",
    "AccountActivated": "confirmed",
    "AccountRejected": "rejected",
    "MarkedNotReregistered": "not_reregistered",
    "Reinstated": "reinstated",
}


def password_problems(password: str) -> list[str]:
    """Reasons a password breaks the policy (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter")
    if password.isdigit():
        problems.append("kata sandi tidak boleh hanya berisi angka")
    return problems


def new_password_problems(new_password: str, current_password: str | None = None) -> list[str]:
    """Reasons a new password is refused: the registration policy, and not the password it replaces."""
    problems = password_problems(new_password)
    if current_password is not None and new_password == current_password:
        problems.append("kata sandi baru harus berbeda dari kata sandi saat ini")
    return problems


def is_valid_email(email: str) -> bool:
    """Syntactic check only (local@domain.tld); delivery is proven by the confirmation mail."""
    return len(email) <= 254 and bool(EMAIL_PATTERN.match(email))


def new_registration_number(year: int) -> str:
    """`PUPNS-{year}-{8 chars}` from the unambiguous alphabet, cryptographically random."""
    suffix = "".join(secrets.choice(REGISTRATION_ALPHABET) for _ in range(8))
    return f"PUPNS-{year}-{suffix}"


def looks_like_nip(username: str) -> bool:
    """PNS log in with their NIP (digits); staff with a username that starts with a letter."""
    return username.replace(" ", "").isdigit()


@dataclass(frozen=True)
class Account:
    """What login and `get_me` need to know about a PNS account."""

    nip: str
    status: str  # pending_confirmation | rejected | active
    form_status: str | None  # draft | submitted | returned | verified (after activation)
    not_reregistered: bool = False  # the campaign-close sanction overlays the status until reinstatement

    @property
    def public_status(self) -> str:
        """The spec's `GET /me` status."""
        if self.not_reregistered:
            return "not_reregistered"
        if self.status != "active":
            return self.status
        return self.form_status or "draft"

    @property
    def blocks_registration(self) -> bool:
        return self.status in ("pending_confirmation", "active")


def login_refusal(status: str) -> str | None:
    """Error code for a correct password on an account that may not log in yet."""
    return {"pending_confirmation": "registration_pending", "rejected": "registration_rejected"}.get(status)


def lock_seconds(consecutive_failures: int) -> int:
    """How long a username stays locked after this many consecutive failures (0: not locked)."""
    if consecutive_failures < THROTTLE_FAILURES:
        return 0
    return min(THROTTLE_BASE_SECONDS * 2 ** (consecutive_failures - THROTTLE_FAILURES), THROTTLE_MAX_SECONDS)


def decayed_failures(failures: int, last_failure_at: datetime | None, at: datetime) -> int:
    """Failures still counted at `at`: one fewer for every quiet THROTTLE_DECAY_SECONDS since the last one."""
    if not failures or last_failure_at is None:
        return 0
    quiet = max(0.0, (at - last_failure_at).total_seconds())
    return max(0, failures - int(quiet // THROTTLE_DECAY_SECONDS))


def throttle_key(username: str, device: str | None) -> str:
    """Whose failures a login attempt is judged on: a client that logged in as this user before (its device) on
    its own failures alone, every other client on the username's shared count."""
    return f"{username}#{device}" if device else username


def nik_guess_wait(mismatches: list[str], at: datetime) -> int:
    """Seconds a NIP stays closed to registration after NIK_GUESSES `nik_mismatch` answers within
    NIK_GUESS_WINDOW_SECONDS (0: open). Guessing a NIK must not be a way to learn it or to take a registration."""
    recent = sorted(t for t in (datetime.fromisoformat(m) for m in mismatches)
                    if (at - t).total_seconds() < NIK_GUESS_WINDOW_SECONDS)
    if len(recent) < NIK_GUESSES:
        return 0
    return max(1, math.ceil(NIK_GUESS_WINDOW_SECONDS - (at - recent[-NIK_GUESSES]).total_seconds()))


def parse_aware(value: str) -> datetime:
    """ISO 8601 timestamp that must carry a UTC offset; ValueError otherwise."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("waktu harus menyertakan zona waktu (offset)")
    return parsed


def returned_note(notes: dict | None) -> str | None:
    """One line for the timeline out of per-section return notes."""
    if not notes:
        return None
    return "; ".join(f"{section}: {text}" for section, text in notes.items())


def iso_date(value: str) -> date:
    """A strict `YYYY-MM-DD` date (ValueError otherwise)."""
    if not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("format tanggal harus YYYY-MM-DD")
    return date.fromisoformat(value)
